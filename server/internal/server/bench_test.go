package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// BenchmarkConnect measures one client's live connection coming up:
// handshake, session check, subscription snapshot, welcome, synced. It is
// the cost a mass reconnect (after a restart) pays per client.
func BenchmarkConnect(b *testing.B) {
	ts := newTestServer(b, nil)
	ctx := context.Background()
	org, err := ts.store.CreateOrg(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const clients = 200
	tokens := make([]string, clients)
	for i := range tokens {
		a, err := ts.store.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: org.ID, Role: protocol.RoleClient,
			LoginID: fmt.Sprintf("bench-%d", i), Nickname: "c", PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = credential.NewToken()
		if _, err := ts.store.CreateSession(ctx, store.NewSession{AccountID: a.ID, TokenHash: credential.TokenHash(tokens[i]), ExpiresAt: ts.clock.Now().Add(1e15)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := rawWS(b, ts.URL, tokens[i%clients])
		wsWrite(b, c, `{"type":"hello","v":1,"cursor":0}`)
		wsReadType(b, c, "synced")
		c.Close(websocket.StatusNormalClosure, "")
	}
}

// BenchmarkLoginDuringFlood measures a legitimate sign-in, with the real
// password hashing, while one address floods the server with sign-ins
// for IDs that do not exist (as fast as answers come back, 16 at a time),
// beside the same sign-in with no flood. It reports the legitimate
// sign-in's p50 and p99 in milliseconds, how often it had to retry
// (busy), and the flood's hashes per second (the CPU it got).
func BenchmarkLoginDuringFlood(b *testing.B) {
	for _, flood := range []bool{false, true} {
		b.Run(fmt.Sprintf("flood=%v", flood), func(b *testing.B) {
			ts := newTestServer(b, func(c *Config) {
				c.Password = credential.DefaultParams
				c.Hashers = DefaultHashers
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
				c.MaxFailures, c.IDFailures = 1<<30, 1<<30 // measure the CPU bound, not the lockout
			})
			ctx := context.Background()
			org, err := ts.store.CreateOrg(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			cred, err := ts.NewCredentials(ctx, store.Principal{}, store.NewAccount{OrgID: org.ID, Role: protocol.RoleClient, Nickname: "c"})
			if err != nil {
				b.Fatal(err)
			}
			body, _ := json.Marshal(protocol.LoginRequest{LoginID: cred.LoginID, Password: cred.Password})
			post := func(addr string, body []byte) (int, error) { return postLogin(ts.URL, addr, body) }
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var hashed atomic.Int64
			if flood {
				floodLogins(ts.URL, "203.0.113.66", stop, &wg, &hashed)
			}
			var lat []time.Duration
			retries := 0
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				for {
					code, err := post("198.51.100.10", body)
					if err != nil {
						b.Fatal(err)
					}
					if code == http.StatusOK {
						break
					}
					if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
						b.Fatalf("sign-in answered %d", code)
					}
					retries++
					time.Sleep(time.Second) // retry_after
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			elapsed := time.Since(start)
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
			b.ReportMetric(float64(hashed.Load())/elapsed.Seconds(), "flood-hashes/s")
		})
	}
}

// postLogin signs in as if from addr (the test server trusts loopback's
// X-Forwarded-For) and returns the status code.
func postLogin(url, addr string, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", url+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// floodLogins sends sign-ins for login IDs that do not exist from addr,
// 16 at a time, as fast as answers come back, until stop closes; hashed
// counts the ones the server evaluated (401).
func floodLogins(url, addr string, stop chan struct{}, wg *sync.WaitGroup, hashed *atomic.Int64) {
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad, _ := json.Marshal(protocol.LoginRequest{LoginID: fmt.Sprintf("floo-d%03d", w), Password: "guess"})
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, err := postLogin(url, addr, bad); err == nil && code == http.StatusUnauthorized {
					hashed.Add(1)
				}
			}
		}()
	}
}

// BenchmarkSignInRush is a seminar: 100 clients behind one address (the
// venue's network) sign in with their slips' generated passwords at
// random moments within 10 s, while another address floods the server
// with wrong passwords. A client told to wait (429/503) tries again after
// retry_after and a little jitter, as the PWA does by itself. It reports how many failed (want 0) and
// the p50/p99/max time from a client's first try to signed in.
func BenchmarkSignInRush(b *testing.B) {
	const clients, window = 100, 10 * time.Second
	ts := newTestServer(b, func(c *Config) {
		c.Password, c.Generated, c.Hashers = credential.DefaultParams, credential.GeneratedParams, DefaultHashers
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	o := ts.org(b, "seminar")
	for i := range b.N {
		creds, err := o.admin.BulkCreateClients(context.Background(), protocol.BulkCreateClientsRequest{Prefix: fmt.Sprintf("r%d", i), Count: clients})
		if err != nil || len(creds) != clients {
			b.Fatalf("%d slips, %v", len(creds), err)
		}
		stop := make(chan struct{})
		var fwg sync.WaitGroup
		var hashed atomic.Int64
		floodLogins(ts.URL, "203.0.113.66", stop, &fwg, &hashed)
		lat := make([]time.Duration, clients)
		var failed, retries atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for j, cr := range creds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.Int64N(int64(window))))
				body, _ := json.Marshal(protocol.LoginRequest{LoginID: cr.LoginID, Password: cr.Password})
				t0 := time.Now()
				for {
					code, err := postLogin(ts.URL, "198.51.100.10", body)
					if err == nil && code == http.StatusOK {
						lat[j] = time.Since(t0)
						return
					}
					if err != nil || (code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable) {
						failed.Add(1)
						b.Logf("client %d: %d %v", j, code, err)
						return
					}
					retries.Add(1)
					// retry_after and up to 1 s of jitter, as the PWA does
					time.Sleep(time.Second + time.Duration(rand.Int64N(int64(time.Second))))
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(stop)
		fwg.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(failed.Load()), "failed")
		b.ReportMetric(float64(retries.Load())/clients, "retries/client")
		b.ReportMetric(float64(lat[clients/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[clients*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[clients-1].Microseconds())/1000, "max-ms")
	}
}

// BenchmarkBulkRegistration registers a seminar of 1,000 clients through
// the API (two requests of 500), with the real hashing of generated
// passwords, and reports the seconds it took.
func BenchmarkBulkRegistration(b *testing.B) {
	ts := newTestServer(b, func(c *Config) {
		c.Password, c.Generated, c.Hashers = credential.DefaultParams, credential.GeneratedParams, DefaultHashers
	})
	o := ts.org(b, "seminar")
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		for half := range 2 {
			creds, err := o.admin.BulkCreateClients(context.Background(), protocol.BulkCreateClientsRequest{Prefix: fmt.Sprintf("s%d-%d", i, half), Count: 500})
			if err != nil || len(creds) != 500 {
				b.Fatalf("%d slips, %v", len(creds), err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/1000-clients")
	}
}
