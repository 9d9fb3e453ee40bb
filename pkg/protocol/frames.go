package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Frame types sent by apps.
const (
	TypeHello   = "hello"
	TypeSend    = "send"
	TypeReceipt = "receipt"
	TypeWiped   = "wiped"
	// TypePing asks the server for a pong: the app's heartbeat. A
	// connection that has sent one must keep sending frames (HeartbeatTimeout).
	TypePing = "ping"
	// TypeTyping says the sender is writing (never stored). Apps send it;
	// the server relays it to the conversation's other side.
	TypeTyping = "typing"
)

// HeartbeatTimeout is how long the server waits for the next frame from an
// app that sends pings before it treats the link as dead and drops it. Apps
// ping every PingEvery and give up on a pong after PingEvery too, so both
// ends notice a dead link in under ten seconds.
const (
	HeartbeatTimeout = 9 * time.Second
	PingEvery        = 4 * time.Second
	// TypingEvery is the most often a connection's typing frames are
	// relayed; more frequent ones are dropped without an answer.
	TypingEvery = 2 * time.Second
)

// Frame types sent by the server.
const (
	TypeWelcome             = "welcome"
	TypeSynced              = "synced"
	TypeMessage             = "message"
	TypeAck                 = "ack"
	TypeError               = "error"
	TypeConversation        = "conversation"
	TypeConversationDeleted = "conversation_deleted"
	TypeDeleted             = "deleted"
	TypeSettings            = "settings"
	TypeRevoked             = "revoked"
	TypePong                = "pong"
	// TypeConversationWithdrawn: a conversation the account could see is
	// no longer its to see (handed to a colleague, taken from the pool);
	// the app deletes what it holds of it.
	TypeConversationWithdrawn = "conversation_withdrawn"
	// TypePresence: a colleague's presence, load or connection changed.
	TypePresence = "presence"
	// TypeResume: a connection whose sends were refused as busy may send
	// again now, before its retry_after is up: the server has room.
	TypeResume = "resume"
	// TypeTyping (also sent by apps): someone on the other side is writing.
)

// WebSocket close codes used by the server besides the standard ones
// (1009 too big, 1003 binary data, 1001 going away).
const (
	CloseBadHello = 4000 // first frame was not a valid hello
	CloseRevoked  = 4001 // session ended: sign in again
	CloseTooSlow  = 4008 // the app fell behind; reconnect and resume
	// CloseOutsideHours: a counselor outside the organisation's access
	// hours. An error frame with CodeOutsideHours and reopens_at precedes it.
	CloseOutsideHours = 4009
)

// Hello opens a live connection. Cursor is the highest message ID the app
// has stored (0 for none); the server replays everything after it.
type Hello struct {
	Type   string `json:"type"`
	V      int    `json:"v"`
	Cursor int64  `json:"cursor"`
}

// Send asks the server to store and deliver a message. Ref is the app's
// idempotency id: resending the same Ref returns the original message.
// Clients leave ConversationID zero (they have one conversation).
type Send struct {
	Type           string `json:"type"`
	Ref            string `json:"ref"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	Body           string `json:"body"`
	// Staff only, all optional: the progress the reply sets (with
	// NextContact for ProgressNextContact: a date the reply promises),
	// stored in the same transaction as the message, and the template it
	// was made from (counted for the template list's order).
	Progress    Progress `json:"progress,omitempty"`
	NextContact string   `json:"next_contact,omitempty"`
	TemplateID  int64    `json:"template_id,omitempty"`
	// Decides is the seq of a client's message this reply confirms as
	// decided (決定); staff only.
	Decides int64 `json:"decides,omitempty"`
	// Kind is KindText (the default, "") or, from staff, KindNote: a
	// note only staff read.
	Kind MessageKind `json:"kind,omitempty"`
	// Attachment is the ID of a file the sender uploaded to this
	// conversation (POST /api/v1/conversations/{id}/attachments) and has
	// not sent yet; the body may then be empty.
	Attachment int64 `json:"attachment,omitempty"`
}

// Receipt reports what an app has received and shown to its person.
type Receipt struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	DeliveredSeq   int64  `json:"delivered_seq"`
	ReadSeq        int64  `json:"read_seq"`
}

// Ping is the app's heartbeat; the server answers with a Pong at once.
type Ping struct {
	Type string `json:"type"`
}

// Pong answers a Ping.
type Pong struct {
	Type string `json:"type"`
}

// ResumeFrame calls back a connection whose sends were refused as busy:
// the server has room again, and the app sends what it holds back now
// instead of waiting out retry_after. It is a hint: an app that ignores it
// sends when retry_after is up, as before.
type ResumeFrame struct {
	Type string `json:"type"`
}

// Typing, from an app, says its person is writing in a conversation
// (clients leave ConversationID zero). Nothing of it is stored.
type Typing struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id,omitempty"`
}

// TypingFrame, from the server, says someone on the conversation's other
// side is writing. Apps show it for a few seconds (TypingShowFor) or until
// that side's next message arrives.
type TypingFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	SenderID       int64  `json:"sender_id"`
	SenderRole     Role   `json:"sender_role"`
	SenderName     string `json:"sender_name,omitempty"` // a staff member's display name
}

// TypingShowFor is how long an app shows "typing" after the last frame.
const TypingShowFor = 6 * time.Second

// Welcome answers a hello with the state the app needs before the replay.
type Welcome struct {
	Type          string         `json:"type"`
	V             int            `json:"v"`
	Account       Account        `json:"account"`
	Org           Org            `json:"org"`
	Conversations []Conversation `json:"conversations"`
	ServerTime    time.Time      `json:"server_time"`
}

// Synced follows the replay: from here on frames are live.
type Synced struct {
	Type   string `json:"type"`
	Cursor int64  `json:"cursor"`
}

// MessageFrame carries a new message. From protocol version 2 on,
// Conversation is the conversation's state after the message when the
// message changed it (as a conversation frame after it would have said;
// nil: unchanged, or not this connection's to see).
type MessageFrame struct {
	Type         string        `json:"type"`
	Message      Message       `json:"message"`
	Conversation *Conversation `json:"conversation,omitempty"`
}

// Ack confirms that the message sent with Ref is durably stored. From
// protocol version 2 on, the ack is the only frame that carries the
// message to the connection that sent it, with the conversation's new
// state when the message changed it (nil: unchanged, or it came in a
// conversation frame before the ack), and its ID may be taken as the
// resume cursor: every frame published before the message reached the
// connection before its ack.
type Ack struct {
	Type         string        `json:"type"`
	Ref          string        `json:"ref"`
	Message      Message       `json:"message"`
	Conversation *Conversation `json:"conversation,omitempty"`
}

// ErrorFrame reports a refused frame. Ref names the send it answers, if any.
type ErrorFrame struct {
	Type  string `json:"type"`
	Ref   string `json:"ref,omitempty"`
	Error Error  `json:"error"`
}

// ConversationFrame carries a conversation's new state (status, receipts,
// assignee) or a conversation the app has not seen.
type ConversationFrame struct {
	Type         string       `json:"type"`
	Conversation Conversation `json:"conversation"`
}

// ConversationDeletedFrame says a conversation and all its messages are gone
// (the client was deleted). Apps delete everything they hold of it.
type ConversationDeletedFrame struct {
	Type           string    `json:"type"`
	ConversationID int64     `json:"conversation_id"`
	At             time.Time `json:"at"` // when it was deleted: the app confirms with a wiped frame
}

// ConversationWithdrawnFrame says a conversation is no longer the
// account's to see: a colleague took it from the pool, it was handed to
// someone else or went back to the pool. The app deletes every message,
// draft and unsent reply it holds of it. Reason is one of the
// Withdrawn… constants.
type ConversationWithdrawnFrame struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id"`
	Reason         string `json:"reason"`
}

// Why a conversation was withdrawn from an account.
const (
	WithdrawnTaken      = "taken"      // a colleague took it from the pool
	WithdrawnReassigned = "reassigned" // handed to someone else, or back to the pool
	WithdrawnUnoffered  = "unoffered"  // the pool is not offered to the account now (away, at capacity)
)

// PresenceFrame tells staff that a colleague's presence, number of
// conversations or connection changed (their own too).
type PresenceFrame struct {
	Type              string   `json:"type"`
	AccountID         int64    `json:"account_id"`
	Presence          Presence `json:"presence"`
	OpenConversations int      `json:"open_conversations"`
	Online            bool     `json:"online"`
}

// DeletedFrame says the retention sweep deleted every message of the
// conversation up to and including ThroughSeq.
type DeletedFrame struct {
	Type           string    `json:"type"`
	ConversationID int64     `json:"conversation_id"`
	ThroughSeq     int64     `json:"through_seq"`
	Count          int       `json:"count"`
	At             time.Time `json:"at"` // when it was deleted: the app confirms with a wiped frame
}

// Wiped is an app's deletion receipt: it has removed from the device
// everything the server deleted up to At (the at of the deletion frames
// it applied). Admins see, per device, when the last one arrived.
type Wiped struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

// SettingsFrame carries the organisation's changed settings and availability.
type SettingsFrame struct {
	Type string `json:"type"`
	Org  Org    `json:"org"`
}

// RevokedFrame precedes a close with CloseRevoked: the app wipes its local
// data and asks for the password again.
type RevokedFrame struct {
	Type   string `json:"type"`
	Reason string `json:"reason"` // "logout", "forced", "deleted", "expired"
}

// DecodeClientFrame validates and decodes one frame sent by an app. It
// returns *Hello, *Send, *Receipt, *Wiped, *Ping or *Typing, or an *Error
// that can be sent back.
func DecodeClientFrame(data []byte) (any, error) {
	if len(data) > MaxFrameBytes {
		return nil, Errorf(CodeTooLarge, "frame is %d bytes; the limit is %d", len(data), MaxFrameBytes)
	}
	// encoding/json silently replaces invalid UTF-8; a message must arrive
	// exactly as written or be refused, so check first.
	if !utf8.Valid(data) {
		return nil, Errorf(CodeBadFrame, "frame is not valid UTF-8")
	}
	if err := CheckEscapes(data); err != nil {
		return nil, err
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, Errorf(CodeBadFrame, "frame is not a JSON object: %v", err)
	}
	var (
		f   any
		err error
	)
	switch head.Type {
	case TypeHello:
		h := new(Hello)
		err, f = strictUnmarshal(data, h), h
		if err == nil {
			err = h.validate()
		}
	case TypeSend:
		s := new(Send)
		err, f = strictUnmarshal(data, s), s
		if err == nil {
			err = s.validate()
		}
	case TypeReceipt:
		r := new(Receipt)
		err, f = strictUnmarshal(data, r), r
		if err == nil {
			err = r.validate()
		}
	case TypePing:
		pg := new(Ping)
		err, f = strictUnmarshal(data, pg), pg
	case TypeTyping:
		ty := new(Typing)
		err, f = strictUnmarshal(data, ty), ty
		if err == nil && ty.ConversationID < 0 {
			err = Errorf(CodeBadFrame, "conversation_id must not be negative")
		}
	case TypeWiped:
		w := new(Wiped)
		err, f = strictUnmarshal(data, w), w
		if err == nil && w.At.IsZero() {
			err = Errorf(CodeBadFrame, "wiped needs the at of the deletion applied")
		}
	case "":
		return nil, Errorf(CodeBadFrame, "frame has no type")
	default:
		return nil, Errorf(CodeUnknownType, "unknown frame type %q", truncate(head.Type, 32))
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// SendRef returns the ref of a send frame that could not be decoded or
// was refused, if it can be read at all, so that the error frame names the
// outbox entry it answers ("" when it cannot).
func SendRef(data []byte) string {
	var head struct {
		Type string          `json:"type"`
		Ref  json.RawMessage `json:"ref"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type != TypeSend {
		return ""
	}
	var ref string
	if json.Unmarshal(head.Ref, &ref) != nil || ValidateRef(ref) != nil {
		return ""
	}
	return ref
}

// ServerFrame is a frame the server sends to an app: *Welcome, *Synced,
// *MessageFrame, *Ack, *ErrorFrame, *ConversationFrame,
// *ConversationDeletedFrame, *DeletedFrame, *SettingsFrame, *RevokedFrame,
// *TypingFrame, *Pong, *ConversationWithdrawnFrame, *PresenceFrame,
// *NewsFrame, *ResumeFrame or *UnknownFrame. The set is closed (the method is unexported), so that a
// switch over it names types the compiler checks rather than whatever an
// any happens to hold.
type ServerFrame interface{ serverFrame() }

func (*Welcome) serverFrame()                    {}
func (*Synced) serverFrame()                     {}
func (*MessageFrame) serverFrame()               {}
func (*Ack) serverFrame()                        {}
func (*ErrorFrame) serverFrame()                 {}
func (*ConversationFrame) serverFrame()          {}
func (*ConversationDeletedFrame) serverFrame()   {}
func (*DeletedFrame) serverFrame()               {}
func (*SettingsFrame) serverFrame()              {}
func (*RevokedFrame) serverFrame()               {}
func (*TypingFrame) serverFrame()                {}
func (*Pong) serverFrame()                       {}
func (*UnknownFrame) serverFrame()               {}
func (*ConversationWithdrawnFrame) serverFrame() {}
func (*PresenceFrame) serverFrame()              {}
func (*ResumeFrame) serverFrame()                {}

// UnknownFrame is a frame of a type this version does not know: a newer
// server may add frames, and an older app ignores them.
type UnknownFrame struct {
	Type string
}

// DecodeServerFrame decodes one frame sent by the server into a pointer
// to its type.
func DecodeServerFrame(data []byte) (ServerFrame, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("server sent a malformed frame: %w", err)
	}
	var v ServerFrame
	switch head.Type {
	case TypeWelcome:
		v = new(Welcome)
	case TypeSynced:
		v = new(Synced)
	case TypeMessage:
		v = new(MessageFrame)
	case TypeAck:
		v = new(Ack)
	case TypeError:
		v = new(ErrorFrame)
	case TypeConversation:
		v = new(ConversationFrame)
	case TypeConversationDeleted:
		v = new(ConversationDeletedFrame)
	case TypeDeleted:
		v = new(DeletedFrame)
	case TypeSettings:
		v = new(SettingsFrame)
	case TypeRevoked:
		v = new(RevokedFrame)
	case TypeTyping:
		v = new(TypingFrame)
	case TypePong:
		v = new(Pong)
	case TypeConversationWithdrawn:
		v = new(ConversationWithdrawnFrame)
	case TypePresence:
		v = new(PresenceFrame)
	case TypeNews:
		v = new(NewsFrame)
	case TypeResume:
		v = new(ResumeFrame)
	default:
		return &UnknownFrame{Type: head.Type}, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("server sent a malformed %s frame: %w", head.Type, err)
	}
	return v, nil
}

// strictUnmarshal refuses unknown fields, fields of the wrong JSON type and
// trailing data, so that a malformed frame is reported rather than
// half-applied (the same rule as HTTP bodies).
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeBadFrame, "malformed frame: %v", err)
	}
	if dec.More() {
		return Errorf(CodeBadFrame, "malformed frame: trailing data")
	}
	if err := CheckKeys(data, v); err != nil {
		return Errorf(CodeBadFrame, "malformed frame: %s", AsError(err).Message)
	}
	return nil
}

func (h *Hello) validate() error {
	if h.V < MinVersion || h.V > Version {
		return Errorf(CodeUnsupportedVersion, "protocol version %d is not supported; this server speaks %d to %d", h.V, MinVersion, Version)
	}
	if h.Cursor < 0 {
		return Errorf(CodeBadFrame, "cursor must not be negative")
	}
	return nil
}

func (s *Send) validate() error {
	if err := ValidateRef(s.Ref); err != nil {
		return err
	}
	if s.ConversationID < 0 || s.TemplateID < 0 || s.Decides < 0 || s.Attachment < 0 {
		return Errorf(CodeBadFrame, "conversation_id and template_id must not be negative")
	}
	if s.Progress != "" || s.NextContact != "" {
		if err := (ProgressRequest{Progress: s.Progress, NextContact: s.NextContact}).Validate(); err != nil {
			return err
		}
	}
	if s.Kind != "" && s.Kind != KindText && s.Kind != KindNote {
		return Errorf(CodeBadFrame, "kind must be %q or %q", KindText, KindNote)
	}
	if s.Attachment != 0 {
		if s.Kind == KindNote {
			return Errorf(CodeBadFrame, "a note carries no attachment")
		}
		return ValidateCaption(s.Body)
	}
	return ValidateBody(s.Body)
}

func (r *Receipt) validate() error {
	if r.ConversationID < 0 || r.DeliveredSeq < 0 || r.ReadSeq < 0 {
		return Errorf(CodeBadFrame, "receipt numbers must not be negative")
	}
	if r.ReadSeq > r.DeliveredSeq {
		// What has been read has been delivered.
		r.DeliveredSeq = r.ReadSeq
	}
	return nil
}

// ValidateRef checks an idempotency id: 1–64 printable ASCII characters.
func ValidateRef(ref string) error {
	if ref == "" || len(ref) > MaxRefBytes {
		return Errorf(CodeBadFrame, "ref must be 1 to %d characters", MaxRefBytes)
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] < 0x21 || ref[i] > 0x7e {
			return Errorf(CodeBadFrame, "ref must be printable ASCII")
		}
	}
	return nil
}

// ValidateBody checks a message text: not blank, not too long, no control
// characters other than newline and tab.
// ValidateCaption checks the body of a message that carries an
// attachment: it may be empty; otherwise it is a body like any other.
func ValidateCaption(body string) error {
	if body == "" {
		return nil
	}
	return ValidateBody(body)
}

func ValidateBody(body string) error {
	if !utf8.ValidString(body) {
		return Errorf(CodeInvalidBody, "message is not valid UTF-8")
	}
	if !visible(body) {
		return Errorf(CodeInvalidBody, "message is empty")
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyRunes {
		return Errorf(CodeInvalidBody, "message has %d characters; the limit is %d", n, MaxBodyRunes)
	}
	for _, r := range body {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return Errorf(CodeInvalidBody, "message contains control character U+%04X", r)
		}
	}
	return nil
}

// ValidateNickname checks a client's or staff member's display name.
func ValidateNickname(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return Errorf(CodeInvalid, "nickname is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNicknameRune {
		return Errorf(CodeInvalid, "nickname must be at most %d characters", MaxNicknameRune)
	}
	if !visible(s) {
		return Errorf(CodeInvalid, "nickname is required")
	}
	for _, r := range s {
		if unicode.IsControl(r) || bidiControl(r) {
			return Errorf(CodeInvalid, "nickname contains a control or text-direction character")
		}
	}
	return nil
}

// visible reports whether s has a character one can see: not only spaces
// and invisible formatting (zero-width spaces, joiners, direction marks).
func visible(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) && !unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// bidiControl reports the characters that reorder the text around them
// (overrides, embeddings, isolates): in a name they can make it read as
// someone else's.
func bidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// Encode marshals a server frame. Frames are plain structs, so this fails
// only on a programming error.
func Encode(frame any) []byte {
	b, err := json.Marshal(frame)
	if err != nil {
		panic(fmt.Sprintf("protocol: encode %T: %v", frame, err))
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CheckEscapes refuses JSON text whose strings hold a lone UTF-16
// surrogate escape ("\ud800" without its pair): encoding/json would
// silently store U+FFFD in its place, and a message must arrive exactly as
// written or be refused, never repaired. data must be valid UTF-8.
func CheckEscapes(data []byte) error {
	inString := false
	pendingHigh := false // the previous escape was a high surrogate
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			if pendingHigh {
				return errLoneSurrogate
			}
			inString = false
		case '\\':
			if i+1 >= len(data) {
				return nil // the decoder reports the truncation
			}
			if data[i+1] != 'u' {
				if pendingHigh {
					return errLoneSurrogate
				}
				i++
				continue
			}
			if i+6 > len(data) {
				return nil
			}
			var v uint16
			for _, h := range data[i+2 : i+6] {
				d, ok := hexDigit(h)
				if !ok {
					return nil // not an escape the decoder accepts either
				}
				v = v<<4 | uint16(d)
			}
			i += 5
			switch {
			case v >= 0xD800 && v <= 0xDBFF:
				if pendingHigh {
					return errLoneSurrogate
				}
				pendingHigh = true
			case v >= 0xDC00 && v <= 0xDFFF:
				if !pendingHigh {
					return errLoneSurrogate
				}
				pendingHigh = false
			default:
				if pendingHigh {
					return errLoneSurrogate
				}
			}
		default:
			if pendingHigh {
				return errLoneSurrogate
			}
		}
	}
	return nil
}

var errLoneSurrogate = Errorf(CodeInvalidBody, "text contains a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair)")

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
