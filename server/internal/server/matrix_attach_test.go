package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// sentFile stores a file sent by a conversation's client, straight into
// the store (the cells try reading it).
func (f *matrixFixture) sentFile(t *testing.T, conv int64) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := f.ts.store.Conversation(ctx, store.Principal{OrgID: f.o.id, Role: protocol.RoleAdmin}, conv)
	if err != nil {
		t.Fatal(err)
	}
	cl := store.Principal{AccountID: c.ClientID, OrgID: f.o.id, Role: protocol.RoleClient}
	a, err := f.ts.store.Upload(ctx, cl, conv, bytes.NewReader(storetest.FakeFile(protocol.TypeJPEG, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ts.store.Send(ctx, cl, store.SendRequest{Ref: client.NewRef(), Attachment: a.ID}); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// uploadTo tries an upload into the conversation conv returns.
func uploadTo(conv func(*testing.T, *matrixFixture, matrixActor) int64) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		t.Helper()
		url := fmt.Sprintf("%s/api/v1/conversations/%d/attachments", f.ts.URL, conv(t, f, a))
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(storetest.FakeFile(protocol.TypePNG, 3000)))
		req.Header.Set("Content-Type", "application/octet-stream")
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode < 300, fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
}

// attachmentCells are the permission matrix's rows for files.
func attachmentCells() map[string]func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	theConv := func(_ *testing.T, f *matrixFixture, _ matrixActor) int64 { return f.conv }
	// The actor's own: the client's, or one staff took from the pool.
	own := func(t *testing.T, f *matrixFixture, a matrixActor) int64 {
		if a.role == "counselor" || a.role == "admin" {
			return f.takenConv(t, a)
		}
		return f.conv
	}
	colleagues := func(t *testing.T, f *matrixFixture, _ matrixActor) int64 { return f.colleaguesConv(t) }
	get := func(conv func(*testing.T, *matrixFixture, matrixActor) int64) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
		return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			id := f.sentFile(t, conv(t, f, a))
			code, resp := apiDo(t, "GET", fmt.Sprintf("%s/api/v1/attachments/%d", f.ts.URL, id), a.token, "")
			return code < 300, fmt.Sprintf("%d %.80s", code, resp)
		}
	}
	return map[string]func(*testing.T, *matrixFixture, matrixActor) (bool, string){
		"POST /api/v1/conversations/{id}/attachments":                 uploadTo(own),
		"POST /api/v1/conversations/{id}/attachments (a colleague's)": uploadTo(colleagues),
		"GET /api/v1/attachments/{id}":                                get(theConv),
		"GET /api/v1/attachments/{id} (a colleague's)":                get(colleagues),
		// The actor's own upload, sent with a message in a conversation
		// it writes in (a client's own; staff answering from the pool).
		"live: send a file one uploaded": liveCell(func(t *testing.T, f *matrixFixture, a matrixActor) string {
			conv := f.conv
			if a.role == "counselor" || a.role == "admin" {
				conv = f.takenConv(t, a)
			}
			id := int64(1 << 40) // the anonymous never reaches the frame
			if a.token != "" {
				ok, resp := uploadTo(func(*testing.T, *matrixFixture, matrixActor) int64 { return conv })(t, f, a)
				if !ok {
					t.Fatalf("upload: %s", resp)
				}
				var att protocol.Attachment
				if err := json.Unmarshal([]byte(resp[4:]), &att); err != nil {
					t.Fatal(err)
				}
				id = att.ID
			}
			b, _ := json.Marshal(protocol.Send{Type: protocol.TypeSend, Ref: client.NewRef(), ConversationID: conv, Attachment: id})
			return string(b)
		}),
	}
}
