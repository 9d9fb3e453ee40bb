// Package push tells a client's phone that a reply is waiting, through
// Firebase Cloud Messaging. The push carries no text: not the message, not
// a nickname, not the organisation. The app's service worker shows a
// generic notice in the phone's language.
package push

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// ErrUnregistered means the token no longer reaches a device: forget it.
var ErrUnregistered = errors.New("push token is no longer registered")

// Kinds of push: a reply is waiting, or there is news (an
// announcement, issue 16). The kind is all a push carries.
const (
	KindReply = "reply"
	KindNews  = "news"
)

// Sender delivers one content-free push of a kind to one device token.
type Sender interface {
	Send(ctx context.Context, token, kind string) error
}

// FCM sends through Firebase Cloud Messaging with the Admin SDK.
type FCM struct {
	client *messaging.Client
}

// NewFCM reads a service-account file (its project ID included).
func NewFCM(ctx context.Context, credentialsFile string) (*FCM, error) {
	return newFCM(ctx, nil, option.WithCredentialsFile(credentialsFile))
}

func newFCM(ctx context.Context, cfg *firebase.Config, opts ...option.ClientOption) (*FCM, error) {
	app, err := firebase.NewApp(ctx, cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase messaging: %w", err)
	}
	return &FCM{client: client}, nil
}

// Message is exactly what goes to Google for a device: a kind, no text.
func Message(token, kind string) *messaging.Message {
	return &messaging.Message{
		Token: token,
		Data:  map[string]string{"kind": kind},
		Webpush: &messaging.WebpushConfig{
			// Deliver promptly; a day-old "you have a reply" is still useful,
			// older is not.
			Headers: map[string]string{"Urgency": "high", "TTL": "86400"},
		},
	}
}

// Send pushes to one device.
func (f *FCM) Send(ctx context.Context, token, kind string) error {
	_, err := f.client.Send(ctx, Message(token, kind))
	if messaging.IsUnregistered(err) {
		return ErrUnregistered
	}
	if err != nil {
		return fmt.Errorf("fcm send: %w", err)
	}
	return nil
}

// Tokens is what the notifier needs of the store.
type Tokens interface {
	PushTokens(ctx context.Context, accountID int64) ([]string, error)
	DropPushToken(ctx context.Context, token string) error
}

// Notifier sends pushes off the hot path: Notify never blocks, a worker
// sends. A full queue drops the push (the client still sees the reply
// when they open the app); it is logged and counted by the caller.
type Notifier struct {
	sender Sender
	tokens Tokens
	log    *slog.Logger
	queue  chan job
}

// job is one client to push to, and what to say.
type job struct {
	clientID int64
	kind     string
}

// NewNotifier returns a notifier with a queue of size pending pushes.
func NewNotifier(s Sender, t Tokens, log *slog.Logger, size int) *Notifier {
	return &Notifier{sender: s, tokens: t, log: log, queue: make(chan job, size)}
}

// Notify queues a push to every device of a client that a reply waits;
// false if the queue is full.
func (n *Notifier) Notify(clientID int64) bool { return n.NotifyKind(clientID, KindReply) }

// NotifyKind queues a push of a kind (KindReply, KindNews).
func (n *Notifier) NotifyKind(clientID int64, kind string) bool {
	select {
	case n.queue <- job{clientID, kind}:
		return true
	default:
		return false
	}
}

// Run sends queued pushes until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case j := <-n.queue:
			n.send(ctx, j.clientID, j.kind)
		case <-ctx.Done():
			return
		}
	}
}

func (n *Notifier) send(ctx context.Context, clientID int64, kind string) {
	tokens, err := n.tokens.PushTokens(ctx, clientID)
	if err != nil {
		n.log.Error("push: load tokens", "account", clientID, "err", err)
		return
	}
	for _, tok := range tokens {
		err := n.sender.Send(ctx, tok, kind)
		switch {
		case errors.Is(err, ErrUnregistered):
			if err := n.tokens.DropPushToken(ctx, tok); err != nil {
				n.log.Error("push: drop token", "account", clientID, "err", err)
			}
		case err != nil:
			n.log.Warn("push failed", "account", clientID, "err", err)
		}
	}
}

// WebConfig is what a phone's browser needs to obtain a device token: the
// Firebase web app's public identifiers and the Web Push (VAPID) public
// key, as the Firebase console shows them. None of it is secret; it is
// served to signed-in clients.
type WebConfig struct {
	APIKey            string `json:"apiKey"`
	ProjectID         string `json:"projectId"`
	MessagingSenderID string `json:"messagingSenderId"`
	AppID             string `json:"appId"`
	VAPIDKey          string `json:"vapidKey"`
}

// LoadWebConfig reads and checks a web config file (JSON with the fields
// of WebConfig; other fields of the console's snippet are ignored).
func LoadWebConfig(path string) (*WebConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read web push config: %w", err)
	}
	var c WebConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse web push config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("web push config %s: %w", path, err)
	}
	return &c, nil
}

// Validate reports the first missing or malformed field.
func (c *WebConfig) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"apiKey", c.APIKey}, {"projectId", c.ProjectID},
		{"messagingSenderId", c.MessagingSenderID}, {"appId", c.AppID},
	} {
		if f.v == "" || len(f.v) > 256 || strings.ContainsFunc(f.v, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return fmt.Errorf("%s must be 1 to 256 printable characters", f.name)
		}
	}
	// A VAPID public key is an uncompressed P-256 point: 65 bytes, base64url.
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c.VAPIDKey, "="))
	if err != nil || len(key) != 65 || key[0] != 4 {
		return errors.New("vapidKey must be the Web Push certificate's public key (base64url, 65 bytes)")
	}
	return nil
}
