package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sendq"
)

// The bare relay speaks just enough of Taiwa's live protocol for the load:
// hello, welcome, synced, send, ack and message. It stores nothing and
// checks nothing, so the difference to it is the cost of Taiwa's storage,
// rules and durability. Tokens name the peer: "client:N" talks in
// conversation N, "staff:N" sees every conversation.
type relay struct {
	mu    sync.Mutex
	staff map[*relayConn]struct{}
	byCli map[int64]map[*relayConn]struct{}
	seq   map[int64]int64
	id    int64
}

// relayConn's queue is the same bounded queue as Taiwa's hub uses, so
// that memory per connection compares like with like.
type relayConn struct {
	out *sendq.Queue[[]byte]
}

func relayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r := &relay{staff: map[*relayConn]struct{}{}, byCli: map[int64]map[*relayConn]struct{}{}, seq: map[int64]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/live", r.serve)
	hs := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Fprintf(stdout, "relay serving on http://%s\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (r *relay) serve(w http.ResponseWriter, req *http.Request) {
	tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	kind, num, _ := strings.Cut(tok, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || (kind != "client" && kind != "staff") {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(protocol.MaxFrameBytes)
	ctx := req.Context()
	if _, _, err := c.Read(ctx); err != nil { // hello
		return
	}
	rc := &relayConn{out: sendq.New[[]byte](1024)} // the same bound as Taiwa's
	role := protocol.RoleClient
	if kind == "staff" {
		role = protocol.RoleCounselor
	}
	welcome := protocol.Encode(protocol.Welcome{Type: protocol.TypeWelcome, V: protocol.Version,
		Account: protocol.Account{ID: n, Role: role}, Conversations: []protocol.Conversation{}, ServerTime: time.Now()})
	if c.Write(ctx, websocket.MessageText, welcome) != nil ||
		c.Write(ctx, websocket.MessageText, protocol.Encode(protocol.Synced{Type: protocol.TypeSynced})) != nil {
		return
	}
	r.mu.Lock()
	if role == protocol.RoleClient {
		if r.byCli[n] == nil {
			r.byCli[n] = map[*relayConn]struct{}{}
		}
		r.byCli[n][rc] = struct{}{}
	} else {
		r.staff[rc] = struct{}{}
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.staff, rc)
		delete(r.byCli[n], rc)
		r.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer cancel()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var s protocol.Send
			if json.Unmarshal(data, &s) != nil || s.Type != protocol.TypeSend {
				continue
			}
			conv := s.ConversationID
			if role == protocol.RoleClient {
				conv = n
			}
			r.relay(rc, role, n, conv, s)
		}
	}()
	var batch [][]byte
	for {
		select {
		case <-rc.out.Ready():
			batch = rc.out.Take(batch)
			for _, b := range batch {
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.Write(wctx, websocket.MessageText, b)
				wcancel()
				if err != nil {
					return
				}
			}
			clear(batch)
			batch = batch[:0]
		case <-ctx.Done():
			return
		}
	}
}

func (r *relay) relay(from *relayConn, role protocol.Role, sender, conv int64, s protocol.Send) {
	now := time.Now().UTC()
	r.mu.Lock()
	r.id++
	r.seq[conv]++
	m := protocol.Message{ID: r.id, ConversationID: conv, Seq: r.seq[conv], SenderID: sender, SenderRole: role,
		Kind: protocol.KindText, Body: s.Body, CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}
	frame := protocol.Encode(protocol.MessageFrame{Type: protocol.TypeMessage, Message: m})
	targets := make([]*relayConn, 0, len(r.staff)+2)
	for c := range r.staff {
		targets = append(targets, c)
	}
	for c := range r.byCli[conv] {
		targets = append(targets, c)
	}
	// Enqueue under the lock so that every peer sees one order, as Taiwa's
	// hub guarantees.
	for _, c := range targets {
		c.out.Push(frame) // a slow peer misses frames; the load tool counts them as lost
	}
	r.mu.Unlock()
	from.out.Push(protocol.Encode(protocol.Ack{Type: protocol.TypeAck, Ref: s.Ref, Message: m}))
}
