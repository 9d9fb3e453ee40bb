package devcluster

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestProxyForwardsBrowserHeaders puts the generated nginx in front of an
// upstream that checks what a replica checks: a browser's Origin must
// match the Host it is given (coder/websocket's Accept, the server's
// sameOrigin), and sign-in limits read the client's address from
// X-Forwarded-For. nginx's $host drops the port, and a location that sets
// any proxy_set_header inherits none from the server block, so the live
// endpoint got Host "taiwa" (the upstream's name) and no X-Forwarded-For:
// every browser's live connection was refused with 403.
func TestProxyForwardsBrowserHeaders(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed")
		}
	}
	type seen struct{ host, xff, proto string }
	got := make(chan seen, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto")}
		if r.URL.Path != "/api/v1/live" {
			io.WriteString(w, "ok")
			return
		}
		c, err := websocket.Accept(w, r, nil) // refuses an Origin that is not r.Host
		if err != nil {
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer up.Close()

	dir, err := os.MkdirTemp("", "devcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // nginx's workers run as www-data when we are root
	c := &Cluster{Dir: dir, opt: Options{Addr: "127.0.0.1:0", Log: io.Discard},
		Replicas: []*Replica{{Name: "r1", Addr: strings.TrimPrefix(up.URL, "http://")}}}
	defer c.Close()
	if err := c.startProxy(); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(c.URL, "http://")
	want := seen{host, "127.0.0.1", "http"}

	req, _ := http.NewRequest("GET", c.URL+"/healthz", nil)
	req.Header.Set("Origin", c.URL)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; s != want {
		t.Errorf("plain request reached the replica with %+v, want %+v", s, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Origin", c.URL) // a browser on the proxy's own page
	conn, _, err := websocket.Dial(ctx, "ws://"+host+"/api/v1/live", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Errorf("a browser's live connection through the proxy: %v", err)
	} else {
		conn.CloseNow()
	}
	if s := <-got; s != want {
		t.Errorf("live handshake reached the replica with %+v, want %+v", s, want)
	}
}

// TestStartRefusesTakenAddress: with the proxy's address already served
// (make run on 127.0.0.1:8080), nginx cannot bind it, yet the readiness
// check reached the other server and the cluster announced itself there
// with demo passwords that address does not know. Start must refuse, and
// before it starts anything.
func TestStartRefusesTakenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	c, err := Start(context.Background(), Options{Bin: "/nonexistent/taiwa", Addr: addr, Replicas: 1})
	if err == nil {
		c.Close()
		t.Fatal("Start succeeded on a taken address")
	}
	if !strings.Contains(err.Error(), addr+" is taken") {
		t.Errorf("Start on a taken address: %v; want it to say the address is taken", err)
	}
}
