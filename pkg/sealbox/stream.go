package sealbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ChunkSize is how much plain text one sealed chunk of a stream holds: a
// stream is sealed and opened a chunk at a time, so a file of any size
// passes through a fixed amount of memory.
const ChunkSize = 64 << 10

// streamMagic starts every sealed stream (and names its format version).
var streamMagic = []byte("TWS1")

// ErrTruncated means a sealed stream ended before its last chunk: cut
// short, or its final chunk removed.
var ErrTruncated = errors.New("sealed stream truncated")

// chunkLabel binds a chunk to its stream (label), its place and whether it
// is the last: chunks reordered, dropped or moved to another stream do not
// open, and a stream cut after a whole chunk is detected.
func chunkLabel(label []byte, index uint64, last bool) []byte {
	b := make([]byte, 0, len(label)+9)
	b = append(b, label...)
	b = binary.BigEndian.AppendUint64(b, index)
	if last {
		return append(b, 1)
	}
	return append(b, 0)
}

// Writer seals what is written to it in chunks of ChunkSize; Close seals
// the last chunk (possibly empty) and must be called.
type Writer struct {
	w     io.Writer
	box   *Box
	label []byte
	buf   []byte
	index uint64
	err   error
}

// NewWriter returns a Writer sealing into w under b, bound to label.
func NewWriter(w io.Writer, b *Box, label []byte) *Writer {
	return &Writer{w: w, box: b, label: append([]byte{}, label...), buf: make([]byte, 0, ChunkSize)}
}

// Write buffers p and seals every full chunk.
func (s *Writer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):ChunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p, n = p[k:], n+k
		// A full chunk is sealed only when more follows, so that Close
		// always has a chunk to mark as the last.
		if len(s.buf) == ChunkSize && len(p) > 0 {
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *Writer) flush(last bool) error {
	if s.index == 0 {
		if _, err := s.w.Write(streamMagic); err != nil {
			s.err = err
			return err
		}
	}
	sealed := s.box.Seal(s.buf, chunkLabel(s.label, s.index, last))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(sealed)))
	if _, err := s.w.Write(n[:]); err != nil {
		s.err = err
		return err
	}
	if _, err := s.w.Write(sealed); err != nil {
		s.err = err
		return err
	}
	s.index++
	s.buf = s.buf[:0]
	return nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (s *Writer) Close() error {
	if s.err != nil {
		return s.err
	}
	if s.buf == nil {
		return nil
	}
	err := s.flush(true)
	s.buf = nil
	if err == nil {
		s.err = errors.New("sealbox: write after close")
	}
	return err
}

// Reader opens a stream sealed by Writer, a chunk at a time. It reports
// ErrTruncated if the stream ends before its last chunk, and an error for
// any chunk altered, reordered or taken from another stream.
type Reader struct {
	r     *bufio.Reader
	box   *Box
	label []byte
	buf   []byte
	index uint64
	done  bool
	err   error
}

// NewReader returns a Reader opening r under b and label.
func NewReader(r io.Reader, b *Box, label []byte) *Reader {
	return &Reader{r: bufio.NewReader(r), box: b, label: append([]byte{}, label...)}
}

// maxSealed bounds a sealed chunk's size as read from the stream.
const maxSealed = ChunkSize + 64

// Read returns opened plain text.
func (s *Reader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.err = s.next()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *Reader) next() error {
	if s.index == 0 {
		magic := make([]byte, len(streamMagic))
		if _, err := io.ReadFull(s.r, magic); err != nil {
			return truncated(err)
		}
		if string(magic) != string(streamMagic) {
			return errors.New("sealbox: not a sealed stream")
		}
	}
	var n [4]byte
	if _, err := io.ReadFull(s.r, n[:]); err != nil {
		return truncated(err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxSealed {
		return fmt.Errorf("sealbox: chunk of %d bytes is too large", size)
	}
	sealed := make([]byte, size)
	if _, err := io.ReadFull(s.r, sealed); err != nil {
		return truncated(err)
	}
	// The last chunk opens only under the "last" label: try it when the
	// stream has nothing after this chunk.
	_, peekErr := s.r.Peek(1)
	last := peekErr == io.EOF
	plain, err := s.box.Open(sealed, chunkLabel(s.label, s.index, last))
	if err != nil {
		if !last {
			return fmt.Errorf("sealbox: chunk %d: %w", s.index, err)
		}
		// Not the last chunk, yet nothing follows: the stream was cut.
		if _, err2 := s.box.Open(sealed, chunkLabel(s.label, s.index, false)); err2 == nil {
			return ErrTruncated
		}
		return fmt.Errorf("sealbox: chunk %d: %w", s.index, err)
	}
	if peekErr != nil && peekErr != io.EOF {
		return peekErr
	}
	s.index++
	s.buf = plain
	s.done = last
	return nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}
