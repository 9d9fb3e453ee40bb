// Package dataset builds a realistic desk over a server's API: many
// clients with short conversations and one with a very long one, written
// as the clients and the counselors would (clients first, replies in
// between). The freezes the walkthroughs found were invisible with three
// demo clients; benchmarks, tests and `make screenshot` use this instead.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Spec says how big the desk is.
type Spec struct {
	Clients  int // conversations
	Messages int // messages in each
	// Long is the number of messages of one more client's conversation
	// (0: none); its nickname is LongNickname.
	Long int
	// Workers write this many conversations at once.
	Workers int
	// Prefix starts every generated nickname ("相談者" by default).
	Prefix string
	// Staff answer the conversations, in turn (conversation i by
	// Staff[i % len]); the admin who builds the desk when none.
	Staff []*client.Client
	// Pool is how many more clients write and are not answered yet: they
	// wait in the pool (PoolNickname + a number), one or two messages each.
	Pool int
}

// Prefix is what the spec's generated nicknames start with.
func Prefix(spec Spec) string {
	if spec.Prefix == "" {
		return "相談者"
	}
	return spec.Prefix
}

// PoolNickname starts the nicknames of the clients waiting in the pool.
const PoolNickname = "はじめて"

// Realistic is the walkthroughs' desk: 200 clients × 15 messages and one
// client with 1,500.
var Realistic = Spec{Clients: 200, Messages: 15, Long: 1500, Workers: 8}

// LongNickname is the client with the long conversation.
const LongNickname = "ながい"

// Desk is what was built.
type Desk struct {
	Clients []protocol.Credentials // the long conversation's client, then the pool's, last
	Sent    int
}

// Lines are what clients and counselors say, in turn.
var (
	clientLines = []string{
		"こんばんは。最近、夜になると不安で眠れません。",
		"仕事のことも家族のことも、うまく言葉にできないのですが、少しずつ話してみます。",
		"今日は職場で上司に強く言われて、帰りの電車でずっと泣いていました。",
		"誰かに話を聞いてほしくて連絡しました。",
		"ありがとうございます。少し落ち着きました。",
		"また明日も書いてもいいですか？",
		"朝起きるのがつらくて、何もする気になれません。",
		"友だちには心配をかけたくなくて、言えずにいます。",
	}
	staffLines = []string{
		"お話しくださってありがとうございます。ゆっくりで大丈夫ですので、続けて聞かせてください。",
		"それはとてもつらかったですね。眠れない夜が続くと、体も心も疲れてしまいますよね。",
		"言葉にしにくいことを書いてくださって、ありがとうございます。",
		"いつでも書いてください。ここでお待ちしています。",
		"今夜は少しでも休めるといいですね。",
	}
)

// Build registers the clients with admin, signs each in, and writes the
// conversations over live connections; replies come from staff (a live
// connection of admin's). Retries when the server is busy signing in.
func Build(ctx context.Context, serverURL string, admin *client.Client, spec Spec) (Desk, error) {
	if spec.Workers <= 0 {
		spec.Workers = 4
	}
	spec.Prefix = Prefix(spec)
	var desk Desk
	for start := 0; start < spec.Clients; start += protocol.MaxBulkClients {
		n := min(spec.Clients-start, protocol.MaxBulkClients)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("%s%03d", spec.Prefix, start+i+1)
		}
		creds, err := admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Nicknames: names})
		if err != nil {
			return desk, fmt.Errorf("register clients: %w", err)
		}
		desk.Clients = append(desk.Clients, creds...)
	}
	if spec.Long > 0 {
		cred, err := admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: LongNickname})
		if err != nil {
			return desk, fmt.Errorf("register the long conversation's client: %w", err)
		}
		desk.Clients = append(desk.Clients, cred)
	}

	staffCtx, stopStaff := context.WithCancel(ctx)
	defer stopStaff()
	if len(spec.Staff) == 0 {
		spec.Staff = []*client.Client{admin}
	}
	lives := make([]*client.Live, len(spec.Staff))
	for i, st := range spec.Staff {
		lives[i] = st.Live(client.LiveOptions{})
		go lives[i].Run(staffCtx)
	}
	answered := len(desk.Clients)
	for i := range spec.Pool {
		cred, err := admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: fmt.Sprintf("%s%02d", PoolNickname, i+1)})
		if err != nil {
			return desk, fmt.Errorf("register a client of the pool: %w", err)
		}
		desk.Clients = append(desk.Clients, cred)
	}

	jobs := make(chan int)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < spec.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				n, staff := spec.Messages, lives[i%len(lives)]
				switch {
				case i >= answered:
					n, staff = 1+i%2, nil // waits in the pool
				case spec.Long > 0 && i == answered-1:
					n = spec.Long
				}
				sent, err := converse(ctx, serverURL, desk.Clients[i], staff, n)
				mu.Lock()
				desk.Sent += sent
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	// The long conversation first: it takes longest.
	for i := len(desk.Clients) - 1; i >= 0; i-- {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return desk, first
}

// converse writes n messages of one conversation, the client first (the
// client's alone when staff is nil: it waits in the pool).
func converse(ctx context.Context, serverURL string, cred protocol.Credentials, staff *client.Live, n int) (int, error) {
	cl, err := login(ctx, serverURL, cred)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	live := cl.Live(client.LiveOptions{})
	go live.Run(cctx)
	var conv int64
	for k := 0; k < n; k++ {
		if k%2 == 0 || conv == 0 || staff == nil {
			m, err := live.Send(ctx, 0, fmt.Sprintf("%s（%d）", clientLines[k%len(clientLines)], k+1))
			if err != nil {
				return k, fmt.Errorf("client %s writes: %w", cred.Account.Nickname, err)
			}
			conv = m.ConversationID
			continue
		}
		if _, err := staff.Send(ctx, conv, fmt.Sprintf("%s（%d）", staffLines[k%len(staffLines)], k+1)); err != nil {
			return k, fmt.Errorf("reply to %s: %w", cred.Account.Nickname, err)
		}
	}
	_ = cl.Logout(ctx)
	return n, nil
}

// login signs a client in, waiting when the server says it is busy.
func login(ctx context.Context, serverURL string, cred protocol.Credentials) (*client.Client, error) {
	for {
		cl, _, err := client.Login(ctx, serverURL, cred.LoginID, cred.Password, "dataset")
		var pe *protocol.Error
		if err == nil || !errors.As(err, &pe) || (pe.Code != protocol.CodeRateLimited && pe.Code != protocol.CodeUnavailable) {
			if err != nil {
				return nil, fmt.Errorf("sign in %s: %w", cred.Account.Nickname, err)
			}
			return cl, nil
		}
		wait := time.Duration(max(pe.RetryAfter, 1)) * time.Second
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
