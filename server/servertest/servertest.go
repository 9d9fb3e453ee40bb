// Package servertest starts a real Taiwa server on a loopback port for
// other packages' tests (the desktop app's, for one): the same handler,
// store and hub as production, with fast password hashing.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/server"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Server is a running test server with one organisation and its admin.
type Server struct {
	URL   string
	Admin *client.Client
	Dir   string // the data directory
}

// New starts a server for the test's lifetime.
func New(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	s, err := server.New(server.Config{
		DataDir:  dir,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Password: credential.Params{Time: 1, Memory: 1024, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		s.Close()
	})
	ctx := context.Background()
	org, err := s.Store().CreateOrg(ctx, "テスト相談室")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := s.NewCredentials(ctx, store.Principal{}, store.NewAccount{OrgID: org.ID, Role: protocol.RoleAdmin, Nickname: "管理者"})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := client.Login(ctx, hs.URL, cred.LoginID, cred.Password, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &Server{URL: hs.URL, Admin: admin, Dir: dir}
}

// Counselor creates a counselor and returns its credentials.
func (s *Server) Counselor(t testing.TB, nick string) protocol.Credentials {
	t.Helper()
	cred, err := s.Admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: nick, Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// Client registers a client and returns it signed in.
func (s *Server) Client(t testing.TB, nick string) (*client.Client, protocol.Credentials) {
	t.Helper()
	cred, err := s.Admin.CreateClient(context.Background(), protocol.CreateClientRequest{Nickname: nick})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := client.Login(context.Background(), s.URL, cred.LoginID, cred.Password, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c, cred
}
