package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// loginFrom signs in as if from addr (the test server trusts loopback as
// a proxy, so X-Forwarded-For names the client), with extra headers.
func loginFrom(t *testing.T, url, addr, id, pw string, header map[string]string) (int, protocol.Error, http.Header) {
	t.Helper()
	body, _ := json.Marshal(protocol.LoginRequest{LoginID: id, Password: pw})
	req, _ := http.NewRequest("POST", url+"/api/v1/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, protocol.Error{}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er protocol.ErrorResponse
	_ = json.Unmarshal(b, &er)
	return resp.StatusCode, er.Error, resp.Header
}

func behindProxy(c *Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// slowHashes makes each password check take milliseconds, so that a burst
// of requests really is decided at the same time.
func slowHashes(c *Config) { c.Password = credential.Params{Time: 1, Memory: 16 * 1024, Threads: 1} }

// A burst of guesses at one login ID evaluates no more of them than the
// lockout allows, and the right password inside the burst gets no
// further than the limit.
func TestConcurrentGuessesEvaluateAtMostTheLimit(t *testing.T) {
	for _, rightInside := range []bool{false, true} {
		t.Run(fmt.Sprintf("right password inside: %v", rightInside), func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { slowHashes(c); c.Hashers = 100 })
			o := ts.org(t, "org")
			_, cred := ts.newClient(t, o, "c")
			const n = 40
			status := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				pw := "wrong-password"
				if rightInside && i == n-1 {
					pw = cred.Password
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					status[i], _, _ = loginFrom(t, ts.URL, "", cred.LoginID, pw, nil)
				}()
			}
			close(start)
			wg.Wait()
			wrong := 0
			for _, st := range status {
				if st == http.StatusUnauthorized {
					wrong++ // bad_credentials: the hash ran and failed
				}
			}
			if wrong > DefaultMaxFailures {
				t.Fatalf("%d of %d concurrent wrong guesses were evaluated; the limit is %d (statuses %v)", wrong, n, DefaultMaxFailures, status)
			}
			if !rightInside {
				if code, e, _ := loginFrom(t, ts.URL, "", cred.LoginID, cred.Password, nil); code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked {
					t.Fatalf("the right password after the burst: %d %+v", code, e)
				}
			}
		})
	}
}

// Failures of other accounts from the same address (a seminar room behind
// one NAT, or everyone behind a proxy) never refuse a correct password.
func TestOthersFailuresNeverRefuseACorrectPassword(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	other := ts.org(t, "another org")
	for i := range 60 {
		loginRaw(t, ts.URL, fmt.Sprintf("gues-s%03d", i), "x") // a different ID each time
	}
	if code, e := loginRaw(t, ts.URL, cred.LoginID, cred.Password); code != http.StatusOK {
		t.Fatalf("a client after 60 failures of others from its address: %d %+v", code, e)
	}
	if _, err := other.admin.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Lockouts count per (address, login ID), and per login ID over all
// addresses for guessing spread across many.
func TestLockoutPerAddressAndPerID(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { behindProxy(c); c.IDFailures = 12 })
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	for range DefaultMaxFailures {
		loginFrom(t, ts.URL, "203.0.113.7", cred.LoginID, "wrong", nil)
	}
	if code, e, _ := loginFrom(t, ts.URL, "203.0.113.7", cred.LoginID, cred.Password, nil); code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked {
		t.Fatalf("locked address: %d %+v", code, e)
	}
	if code, e, _ := loginFrom(t, ts.URL, "198.51.100.2", cred.LoginID, cred.Password, nil); code != http.StatusOK {
		t.Fatalf("the client from its own address: %d %+v", code, e)
	}
	// 12 failures spread over four addresses lock the ID everywhere.
	for i := range 12 {
		loginFrom(t, ts.URL, fmt.Sprintf("192.0.2.%d", i/3+1), cred.LoginID, "wrong", nil)
	}
	if code, e, _ := loginFrom(t, ts.URL, "198.51.100.2", cred.LoginID, cred.Password, nil); code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked {
		t.Fatalf("distributed guessing did not lock the ID: %d %+v", code, e)
	}
	ts.clock.Add(DefaultLockout + time.Second)
	if code, e, _ := loginFrom(t, ts.URL, "198.51.100.2", cred.LoginID, cred.Password, nil); code != http.StatusOK {
		t.Fatalf("after the lockout: %d %+v", code, e)
	}
}

// A flood of sign-ins from one address gets at most its share of the
// hashers and is answered at once past it; a sign-in from elsewhere goes
// through meanwhile.
func TestHashFloodFromOneAddress(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		behindProxy(c)
		c.Hashers = DefaultHashers
		c.Password = credential.Params{Time: 2, Memory: 32 * 1024, Threads: 1}
		c.MaxFailures, c.IDFailures = 1000, 1000
	})
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	const n = 30
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		busy     int
		retryHdr bool
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, e, h := loginFrom(t, ts.URL, "203.0.113.9", fmt.Sprintf("floo-d%03d", i), "x", nil)
			mu.Lock()
			defer mu.Unlock()
			if code == http.StatusTooManyRequests && e.Code == protocol.CodeRateLimited || code == http.StatusServiceUnavailable && e.Code == protocol.CodeUnavailable {
				busy++
				retryHdr = retryHdr || (e.RetryAfter > 0 && h.Get("Retry-After") != "")
			}
		}()
	}
	close(start)
	code, e, _ := loginFrom(t, ts.URL, "198.51.100.3", cred.LoginID, cred.Password, nil)
	wg.Wait()
	if code != http.StatusOK {
		t.Fatalf("a sign-in from another address during the flood: %d %+v", code, e)
	}
	if busy == 0 || !retryHdr {
		t.Fatalf("no flood request was answered busy with retry_after (busy %d)", busy)
	}
}

// Trusted proxies: the client's address and scheme come from the proxy's
// headers only when the peer is a trusted proxy.
func TestClientAddrAndScheme(t *testing.T) {
	xff := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
	fwd := &Server{cfg: Config{TrustedProxies: xff.cfg.TrustedProxies, ProxyHeader: "Forwarded"}}
	tests := []struct {
		name, peer string
		header     map[string]string
		addr       string
		https      bool
		s          *Server
	}{
		{"direct, headers ignored", "203.0.113.5:4000", map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}, "203.0.113.5", false, nil},
		{"through a proxy", "10.0.0.2:4000", map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}, "198.51.100.7", true, nil},
		{"a forged first hop is skipped", "10.0.0.2:4000", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.3"}, "198.51.100.7", false, nil},
		{"Forwarded", "[::1]:4000", map[string]string{"Forwarded": `for="[2001:db8::1]:5000";proto=https`}, "2001:db8::1", true, fwd},
		{"behind a Forwarded proxy, a client's own X-Forwarded-For is ignored", "10.0.0.2:4000",
			map[string]string{"Forwarded": "for=198.51.100.9", "X-Forwarded-For": "6.6.6.6"}, "198.51.100.9", false, fwd},
		{"behind an X-Forwarded-For proxy, a client's own Forwarded is ignored", "10.0.0.2:4000",
			map[string]string{"Forwarded": "for=6.6.6.6;proto=https", "X-Forwarded-For": "198.51.100.9"}, "198.51.100.9", false, nil},
		{"proxy without headers", "10.0.0.2:4000", nil, "10.0.0.2", false, nil},
		{"garbage hop", "10.0.0.2:4000", map[string]string{"X-Forwarded-For": "198.51.100.7, unknown"}, "10.0.0.2", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			s := tt.s
			if s == nil {
				s = xff
			}
			if got := s.clientAddr(r); got != tt.addr {
				t.Errorf("clientAddr = %q, want %q", got, tt.addr)
			}
			if got := s.isHTTPS(r); got != tt.https {
				t.Errorf("isHTTPS = %v, want %v", got, tt.https)
			}
		})
	}
	if got := addrKey("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 addresses are limited per /64: %q", got)
	}
}

// Behind a TLS-terminating proxy the browser gets HSTS and a Secure cookie.
func TestHSTSBehindProxy(t *testing.T) {
	ts := newTestServer(t, behindProxy)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	body, _ := json.Marshal(protocol.LoginRequest{LoginID: cred.LoginID, Password: cred.Password, Cookie: true})
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS for a request the proxy received over HTTPS")
	}
	if c := resp.Cookies(); len(c) != 1 || !c[0].Secure {
		t.Fatalf("cookie %+v is not Secure", c)
	}
	plain, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS on plain HTTP")
	}
}

// Login CSRF: a page on another site cannot sign a browser in, neither
// with a simple text/plain form nor with its own Origin.
func TestLoginRefusesCrossSite(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	body := fmt.Sprintf(`{"login_id":%q,"password":%q,"cookie":true}`, cred.LoginID, cred.Password)
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"text/plain form", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"no content type", map[string]string{}, http.StatusUnsupportedMediaType},
		{"other site's origin", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same origin", map[string]string{"Content-Type": "application/json", "Origin": ts.URL}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+"/api/v1/login", strings.NewReader(body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK && len(resp.Cookies()) > 0 {
				t.Fatal("a refused sign-in set a cookie")
			}
		})
	}
	// Cookie-carrying requests from another site are refused, reads too.
	phone, _, err := client.Login(context.Background(), ts.URL, cred.LoginID, cred.Password, "phone")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/conversations", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: phone.Token})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site read with the cookie: %d", resp.StatusCode)
	}
}

// Changing how a staff account signs in counts wrong secrets toward the
// same lockout as sign-in.
func TestSecretChecksCountTowardLockout(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	co, cred := ts.newCounselorCred(t, o, "co")
	for range DefaultMaxFailures {
		if _, err := co.EnrollTOTP(ctx, "wrong"); !client.IsCode(err, protocol.CodeBadCredentials) {
			t.Fatalf("enroll with a wrong password: %v", err)
		}
	}
	if _, err := co.EnrollTOTP(ctx, cred.Password); !client.IsCode(err, protocol.CodeLocked) {
		t.Fatalf("enroll after %d wrong passwords: %v", DefaultMaxFailures, err)
	}
	if code, e := loginRaw(t, ts.URL, cred.LoginID, cred.Password); code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked {
		t.Fatalf("sign-in after the wrong passwords: %d %+v", code, e)
	}
}

// One password limit, in bytes, for the policy and for sign-in: a long
// Japanese passphrase the policy accepts can be used.
func TestLongJapanesePasswordWorks(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	co, cred := ts.newCounselorCred(t, o, "co")
	long := strings.Repeat("静かな朝に鳥が三回鳴いた日", 13) // 169 characters, 507 bytes
	if err := co.ChangePassword(ctx, cred.Password, long); err != nil {
		t.Fatal(err)
	}
	if code, e := loginRaw(t, ts.URL, cred.LoginID, long); code != http.StatusOK {
		t.Fatalf("the accepted password cannot sign in: %d %+v", code, e)
	}
	if err := co.ChangePassword(ctx, long, long+"長長"); !client.IsCode(err, protocol.CodeInvalid) {
		t.Fatalf("a password over the limit: %v", err)
	}
}

// A failed sign-in takes at least as long as checking a chosen password,
// whether the login ID exists, is a client's (a cheap generated-password
// hash) or is unknown: the time tells nothing.
func TestFailedSignInsTakeTheFloor(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Password = credential.Params{Time: 2, Memory: 16 * 1024, Threads: 1} })
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	if ts.failFloor <= 0 {
		t.Fatal("no floor measured")
	}
	for _, id := range []string{cred.LoginID, "nobo-dyhe"} {
		start := time.Now()
		if code, _ := loginRaw(t, ts.URL, id, "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", id, code)
		}
		if took := time.Since(start); took < ts.failFloor {
			t.Fatalf("%s failed in %v, under the floor of %v", id, took, ts.failFloor)
		}
	}
}

// Attempts refused for being too many at once leave nothing behind: a
// spray of new login IDs from one address does not grow the guard.
func TestRefusedAttemptsLeaveNoState(t *testing.T) {
	g := newLoginGuard(Config{Now: time.Now, MaxFailures: 5, IDFailures: 20, Lockout: time.Minute, Hashers: 2})
	held, err := g.reserve("first", "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	// The address's queue fills (these wait for its one slot)…
	var wg sync.WaitGroup
	for i := range addrWaiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, err := g.reserve(fmt.Sprintf("queued-%d", i), "203.0.113.1"); err == nil {
				a.done(false)
			}
		}()
	}
	for {
		g.mu.Lock()
		n := len(g.waiting)
		g.mu.Unlock()
		if n == addrWaiters {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// …and the rest of the spray is answered at once.
	for i := range 1000 {
		if _, err := g.reserve(fmt.Sprintf("spray-%d", i), "203.0.113.1"); err == nil {
			t.Fatal("an attempt past the address's queue was let through")
		}
	}
	g.mu.Lock()
	ids, pairs := len(g.byID), len(g.byPair)
	g.mu.Unlock()
	if ids != 1 || pairs != 1 {
		t.Fatalf("the guard holds %d IDs and %d pairs after 1,000 refused attempts", ids, pairs)
	}
	held.done(false)
	wg.Wait()
	if len(g.addrs) != 0 || len(g.waiting) != 0 || g.hashing != 0 {
		t.Fatalf("after every attempt ended: %d addresses, %d waiting, %d hashing", len(g.addrs), len(g.waiting), g.hashing)
	}
}

// Two addresses flooding sign-in, each holding its share of the hashers,
// do not keep a third out: it waits its turn for the next free slot.
func TestTwoFloodingAddressesDoNotKeepOthersOut(t *testing.T) {
	slow := credential.Params{Time: 2, Memory: 32 * 1024, Threads: 1}
	ts := newTestServer(t, func(c *Config) {
		behindProxy(c)
		c.Hashers = DefaultHashers
		c.Password, c.Generated = slow, slow
		c.MaxFailures, c.IDFailures = 1000, 1000
	})
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for a := range 2 {
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					loginFrom(t, ts.URL, fmt.Sprintf("203.0.113.%d", a+1), fmt.Sprintf("floo-d%d%d%d", a, w, i), "x", nil)
				}
			}()
		}
	}
	time.Sleep(300 * time.Millisecond) // the flood holds both slots
	for range 3 {
		if code, e, _ := loginFrom(t, ts.URL, "198.51.100.4", cred.LoginID, cred.Password, nil); code != http.StatusOK {
			t.Errorf("a sign-in from a third address during the flood: %d %+v", code, e)
		}
	}
	close(stop)
	wg.Wait()
}

// A freed hash slot goes to the waiting address served least recently:
// a newcomer waits behind no flooder's queue, and a seminar's sign-ins
// from one address queue for its slot instead of being refused.
func TestFreedSlotGoesToTheAddressServedLeastRecently(t *testing.T) {
	g := newLoginGuard(Config{Now: time.Now, MaxFailures: 1000, IDFailures: 1000, Lockout: time.Minute, Hashers: 2})
	reserved := make(chan string, 64)
	releases := map[string]chan struct{}{}
	for _, id := range []string{"a0", "b0", "a1", "a2", "b1", "c0"} {
		releases[id] = make(chan struct{})
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	try := func(addr, id string) {
		release := releases[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := g.reserve(id, addr)
			if err != nil {
				reserved <- "refused " + id
				return
			}
			reserved <- id
			<-release
			a.done(false)
		}()
	}
	waitQueued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; {
			g.mu.Lock()
			q := len(g.waiting)
			g.mu.Unlock()
			if q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiting, want %d", q, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	next := func(want string) {
		t.Helper()
		select {
		case got := <-reserved:
			if got != want {
				t.Fatalf("%s got the slot, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("nobody got the slot, want %s", want)
		}
	}
	try("203.0.113.1", "a0") // the flooders hold both slots…
	next("a0")
	try("203.0.113.2", "b0")
	next("b0")
	try("203.0.113.1", "a1") // …with queues behind them…
	waitQueued(1)
	try("203.0.113.1", "a2")
	waitQueued(2)
	try("203.0.113.2", "b1")
	waitQueued(3)
	try("198.51.100.7", "c0") // …and a newcomer comes last.
	waitQueued(4)
	close(releases["a0"])
	next("c0") // not a1, which came first: its address was served already
	close(releases["c0"])
	next("a1") // served before b's last grant
	close(releases["b0"])
	next("b1")
	close(releases["a1"])
	next("a2")
	close(releases["a2"])
	close(releases["b1"])
}
