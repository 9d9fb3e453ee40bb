package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

func download(t *testing.T, c *client.Client, id int64) ([]byte, error) {
	t.Helper()
	rc, _, err := c.Download(context.Background(), id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// sendFile sends an uploaded file over the client's live connection.
func sendFile(t *testing.T, l *liveConn2, conv, att int64, caption string) (protocol.Message, error) {
	t.Helper()
	r := <-l.live.EnqueueMessage(client.PendingMessage{Ref: client.NewRef(), ConversationID: conv, Body: caption, Attachment: att})
	return r.Message, r.Err
}

// Files over the real server: a client's photo reaches its counselor and
// no one else; another client can neither fetch it nor upload into the
// conversation; types and sizes are decided by content while streaming.
func TestAttachmentsOverTheServer(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	alice, _ := ts.newClient(t, o, "alice")
	bob, _ := ts.newClient(t, o, "bob")
	co := ts.newCounselor(t, o, "co")
	colleague := ts.newCounselor(t, o, "colleague")
	aliceLive, coLive := goLive(t, alice, 0), goLive(t, co, 0)
	first, err := aliceLive.live.Send(ctx, 0, "写真を見てください")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	if _, err := coLive.live.Send(ctx, conv, "どうぞ"); err != nil { // takes the conversation
		t.Fatal(err)
	}
	canary := []byte("CANARY-in-the-photo-83c1")
	photo := storetest.FakeFile(protocol.TypeJPEG, 700_000)
	copy(photo[4096:], canary)
	a, err := alice.Upload(ctx, conv, bytes.NewReader(photo))
	if err != nil || a.Type != protocol.TypeJPEG || a.Size != int64(len(photo)) {
		t.Fatalf("upload = %+v, %v", a, err)
	}
	m, err := sendFile(t, aliceLive, conv, a.ID, "")
	if err != nil || m.Attachment == nil || m.Attachment.ID != a.ID {
		t.Fatalf("send = %+v, %v", m, err)
	}
	// Bob cannot reach Alice's file, nor her conversation.
	if _, err := download(t, bob, a.ID); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("another client fetched the photo: %v", err)
	}
	if _, err := bob.Upload(ctx, conv, bytes.NewReader(photo)); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("another client uploaded into the conversation: %v", err)
	}
	if _, err := download(t, colleague, a.ID); !client.IsCode(err, protocol.CodeForbidden) {
		t.Fatalf("a colleague fetched the photo: %v", err)
	}
	for name, c := range map[string]*client.Client{"alice": alice, "her counselor": co, "the admin": o.admin} {
		if got, err := download(t, c, a.ID); err != nil || !bytes.Equal(got, photo) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	// The counselor sees it arrive live, with its type and size only.
	coLive.rec.waitFor(t, "the photo at the counselor", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.Attachment != nil && *m.Attachment == a }) == 1
	})

	// What the browser is told: no caching, no guessing, no running.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/attachments/"+strconv.FormatInt(a.ID, 10), nil)
	req.Header.Set("Authorization", "Bearer "+alice.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{"Content-Type": protocol.TypeJPEG, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Length": strconv.Itoa(len(photo)), "Content-Disposition": "inline"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}

	// Refused uploads.
	limit := int64(50_000)
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{AttachmentMaxBytes: &limit}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		contentType string
		body        []byte
		status      int
	}{
		{"over the organisation's limit", "application/octet-stream", storetest.FakeFile(protocol.TypePNG, 50_001), http.StatusRequestEntityTooLarge},
		{"a text file named photo.jpg", "application/octet-stream", storetest.FakeFile("text/plain", 100), http.StatusUnsupportedMediaType},
		{"a form post", "multipart/form-data; boundary=x", storetest.FakeFile(protocol.TypePNG, 100), http.StatusUnsupportedMediaType},
		{"just under the limit", "application/octet-stream", storetest.FakeFile(protocol.TypePDF, 50_000), http.StatusCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/conversations/"+strconv.FormatInt(conv, 10)+"/attachments", bytes.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+alice.Token)
			req.Header.Set("Content-Type", tt.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, body, tt.status)
			}
		})
	}

	// One upload sent from several requests at once goes out once.
	b, err := alice.Upload(ctx, conv, bytes.NewReader(storetest.FakeFile(protocol.TypePNG, 10_000)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		ok, clash int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := sendFile(t, aliceLive, conv, b.ID, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case client.IsCode(err, protocol.CodeConflict):
				clash++
			default:
				t.Errorf("send: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || clash != n-1 {
		t.Fatalf("%d sends carried the file, %d refused; want 1 and %d", ok, clash, n-1)
	}

	// Nothing of the file reaches the log or the metrics.
	if logs := ts.logs.String(); strings.Contains(logs, string(canary)) || strings.Contains(logs, "photo") {
		t.Error("the log holds the file or a name")
	}
	if strings.Contains(metricsText(t, ts), string(canary)) {
		t.Error("the metrics hold the file")
	}
	if !strings.Contains(metricsText(t, ts), "taiwa_attachments_total 3") {
		t.Error("uploads not counted")
	}
}
