package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// FakeFile returns size bytes that read as a file of type typ: its
// signature, then random bytes (a canary no plain copy may show).
func FakeFile(typ string, size int) []byte {
	var head []byte
	switch typ {
	case protocol.TypeJPEG:
		head = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	case protocol.TypePNG:
		head = []byte("\x89PNG\r\n\x1a\n")
	case protocol.TypePDF:
		head = []byte("%PDF-1.7\n")
	case protocol.TypeHEIC:
		head = []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
	default:
		head = []byte("plain text, not a file Taiwa takes\n")
	}
	b := make([]byte, size)
	rand.Read(b)
	copy(b, head)
	return b
}

// Upload uploads content or fails the test.
func (f *Fixture) Upload(t testing.TB, p store.Principal, conv int64, content []byte) protocol.Attachment {
	t.Helper()
	a, err := f.Store.Upload(context.Background(), p, conv, bytes.NewReader(content))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return a
}

// ReadAttachment reads a file as p, returning its bytes or the error.
func ReadAttachment(st store.Store, p store.Principal, id int64) ([]byte, error) {
	_, rc, err := st.OpenAttachment(context.Background(), p, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func init() {
	extraTests = append(extraTests,
		namedTest{"Attachments", testAttachments},
		namedTest{"AttachmentLimits", testAttachmentLimits},
		namedTest{"AttachmentDeletion", testAttachmentDeletion},
		namedTest{"ConcurrentAttachOnce", testConcurrentAttach},
	)
}

func testAttachments(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 2)
	cl, other := o.Clients[0], o.Clients[1]
	first := f.Send(t, cl, 0, "hello", "写真を送ります")
	conv := first.ConversationID
	otherConv := f.Conversation(t, other).ID
	photo := FakeFile(protocol.TypeJPEG, 200_000)
	a := f.Upload(t, cl, conv, photo)
	if a.Type != protocol.TypeJPEG || a.Size != int64(len(photo)) || a.ID == 0 {
		t.Fatalf("upload = %+v", a)
	}
	// Before it is sent, only its uploader reads it.
	if got, err := ReadAttachment(f.Store, cl, a.ID); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the uploader reads %d bytes back: %v", len(got), err)
	}
	if _, err := ReadAttachment(f.Store, o.Admin, a.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("an admin read an unsent upload: %v", err)
	}
	// A client uploads only to its own conversation.
	if _, err := f.Store.Upload(ctx, cl, otherConv, bytes.NewReader(photo)); Code(err) != protocol.CodeNotFound {
		t.Fatalf("upload into another client's conversation: %v", err)
	}
	// Another client cannot send it, nor a note carry one.
	if _, _, err := f.Store.Send(ctx, other, store.SendRequest{Ref: "steal", Attachment: a.ID}); Code(err) != protocol.CodeNotFound {
		t.Fatalf("another client sent the upload: %v", err)
	}
	m, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "photo", Attachment: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if m.Attachment == nil || *m.Attachment != a || m.Body != "" {
		t.Fatalf("message = %+v", m)
	}
	// Sent once only.
	if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "again", Attachment: a.ID, Body: "もう一度"}); Code(err) != protocol.CodeConflict {
		t.Fatalf("the upload went out twice: %v", err)
	}
	// Whoever reads the conversation reads the file: the client and an
	// admin; a counselor once it is theirs; never another client.
	for _, tt := range []struct {
		name string
		p    store.Principal
		want protocol.Code
	}{
		{"client", cl, ""},
		{"admin", o.Admin, ""},
		{"counselor before taking it", o.Staff, protocol.CodeForbidden},
		{"another client", other, protocol.CodeNotFound},
	} {
		got, err := ReadAttachment(f.Store, tt.p, a.ID)
		if Code(err) != tt.want || (err == nil && !bytes.Equal(got, photo)) {
			t.Errorf("%s: read %d bytes, err %v, want %q", tt.name, len(got), err, tt.want)
		}
	}
	// The counselor answers with a PDF of their own (taking the
	// conversation), with a caption.
	doc := FakeFile(protocol.TypePDF, 3*64<<10+17)
	b := f.Upload(t, o.Staff, conv, doc)
	reply, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "pdf", ConversationID: conv, Body: "資料です", Attachment: b.ID})
	if err != nil || reply.Attachment == nil || reply.Attachment.Type != protocol.TypePDF || reply.Body != "資料です" {
		t.Fatalf("reply = %+v, %v", reply, err)
	}
	if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "note", ConversationID: conv, Body: "メモ", Kind: protocol.KindNote,
		Attachment: f.Upload(t, o.Staff, conv, doc).ID}); Code(err) != protocol.CodeInvalid {
		t.Fatalf("a note carried a file: %v", err)
	}
	for _, p := range []store.Principal{cl, o.Staff, o.Admin} {
		if got, err := ReadAttachment(f.Store, p, a.ID); err != nil || !bytes.Equal(got, photo) {
			t.Errorf("account %d reads the photo: %d bytes, %v", p.AccountID, len(got), err)
		}
		if got, err := ReadAttachment(f.Store, p, b.ID); err != nil || !bytes.Equal(got, doc) {
			t.Errorf("account %d reads the PDF: %d bytes, %v", p.AccountID, len(got), err)
		}
	}
	// What the apps replay carries the file's type and size, never a name.
	page, err := f.Store.History(ctx, cl, conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	for _, hm := range page.Messages {
		if hm.Attachment != nil {
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("history shows %d attachments, want 2: %+v", seen, page.Messages)
	}
	// HEIC and PNG are taken, by content.
	for _, typ := range []string{protocol.TypeHEIC, protocol.TypePNG} {
		if got := f.Upload(t, cl, conv, FakeFile(typ, 1000)); got.Type != typ {
			t.Errorf("uploaded %s, stored as %s", typ, got.Type)
		}
	}
}

func testAttachmentLimits(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := f.Send(t, cl, 0, "1", "こんにちは").ConversationID
	if _, err := f.Store.Upload(ctx, cl, conv, bytes.NewReader(FakeFile("text/plain", 5000))); Code(err) != protocol.CodeUnsupportedMedia {
		t.Fatalf("a text file was taken: %v", err)
	}
	limit := int64(100_000)
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{AttachmentMaxBytes: &limit}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Upload(ctx, cl, conv, bytes.NewReader(FakeFile(protocol.TypePNG, int(limit)+1))); Code(err) != protocol.CodeTooLarge {
		t.Fatalf("a file over the limit was taken: %v", err)
	}
	// The limit is decided while streaming: a reader that would go on for
	// ever is stopped at the limit.
	endless := io.MultiReader(bytes.NewReader(FakeFile(protocol.TypePNG, 1000)), rand.Reader)
	if _, err := f.Store.Upload(ctx, cl, conv, endless); Code(err) != protocol.CodeTooLarge {
		t.Fatalf("an endless upload: %v", err)
	}
	if a := f.Upload(t, cl, conv, FakeFile(protocol.TypePNG, int(limit))); a.Size != limit {
		t.Fatalf("a file of exactly the limit: %+v", a)
	}
	tooBig := protocol.MaxAttachmentBytes + 1
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{AttachmentMaxBytes: &tooBig}); Code(err) != protocol.CodeInvalid {
		t.Fatalf("a limit over 1 GB was taken: %v", err)
	}
}

func testAttachmentDeletion(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 2)
	cl, gone := o.Clients[0], o.Clients[1]
	conv := f.Send(t, cl, 0, "1", "はじめまして").ConversationID
	sent := f.Upload(t, cl, conv, FakeFile(protocol.TypeJPEG, 5000))
	if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "p", Attachment: sent.ID}); err != nil {
		t.Fatal(err)
	}
	unsent := f.Upload(t, cl, conv, FakeFile(protocol.TypeJPEG, 5000))
	goneConv := f.Send(t, gone, 0, "g", "消える人").ConversationID
	goneFile := f.Upload(t, gone, goneConv, FakeFile(protocol.TypePDF, 5000))
	if _, _, err := f.Store.Send(ctx, gone, store.SendRequest{Ref: "gp", Attachment: goneFile.ID}); err != nil {
		t.Fatal(err)
	}
	// A deleted client's files go with it.
	if err := f.Store.DeleteAccount(ctx, o.Admin, gone.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAttachment(f.Store, o.Admin, goneFile.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("a deleted client's file: %v", err)
	}
	// An upload never sent goes after its hour.
	f.Clock.Add(2 * time.Hour)
	if _, err := f.Store.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAttachment(f.Store, cl, unsent.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("an unsent upload outlived its hour: %v", err)
	}
	if _, err := ReadAttachment(f.Store, cl, sent.ID); err != nil {
		t.Fatalf("the sent file went early: %v", err)
	}
	// A sent one goes with its message, at the end of the retention.
	f.Clock.Add(7 * 24 * time.Hour)
	if _, err := f.Store.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAttachment(f.Store, cl, sent.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("the file outlived its message: %v", err)
	}
	page, err := f.Store.History(ctx, cl, conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.Attachment != nil {
			t.Fatalf("a message with a file outlived the retention: %+v", m)
		}
	}
}

// testConcurrentAttach sends one upload from several requests at once:
// exactly one message carries it.
func testConcurrentAttach(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := f.Send(t, cl, 0, "1", "こんにちは").ConversationID
	a := f.Upload(t, cl, conv, FakeFile(protocol.TypePNG, 3000))
	const n = 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		ok, clash int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "r" + string(rune('a'+i)), Attachment: a.ID})
			mu.Lock()
			defer mu.Unlock()
			switch Code(err) {
			case "":
				ok++
			case protocol.CodeConflict:
				clash++
			default:
				t.Errorf("send: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || clash != n-1 {
		t.Fatalf("%d sends carried the file and %d were refused, want 1 and %d", ok, clash, n-1)
	}
}
