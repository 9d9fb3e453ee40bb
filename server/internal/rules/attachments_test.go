package rules

import (
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func attaching(p store.Principal, c store.ConversationState, s protocol.Settings, now time.Time) Attaching {
	return Attaching{Actor: p, Conv: c, Access: ReadAccess(p, c.Conversation, true), Settings: s, Now: now}
}

func TestMayUpload(t *testing.T) {
	plain := settings(nil)
	hoursOnly := settings(func(s *protocol.Settings) { open9to5(s); s.CounselorHoursOnly = true })
	night := monday.Add(12 * time.Hour) // 00:00 in Tokyo
	ended := monday.Add(-time.Hour)
	stranger := store.Principal{AccountID: 8, OrgID: 1, Role: protocol.RoleClient}
	for _, tt := range []struct {
		name  string
		in    Attaching
		until *time.Time
		want  protocol.Code
	}{
		{"the client to its own", attaching(client, conv(0, true), plain, monday), nil, ""},
		{"another client", attaching(stranger, conv(0, true), plain, monday), nil, protocol.CodeNotFound},
		{"a client whose access ended", attaching(client, conv(0, true), plain, monday), &ended, protocol.CodeForbidden},
		{"the assignee", attaching(co, conv(co.AccountID, false), plain, monday), nil, ""},
		{"a colleague", attaching(other, conv(co.AccountID, false), plain, monday), nil, protocol.CodeForbidden},
		{"staff replying from the pool", attaching(co, conv(0, true), plain, monday), nil, ""},
		{"an admin in a colleague's", attaching(admin, conv(co.AccountID, false), plain, monday), nil, protocol.CodeForbidden},
		{"an admin in their own", attaching(admin, conv(admin.AccountID, false), plain, monday), nil, ""},
		{"a counselor out of hours", attaching(co, conv(co.AccountID, false), hoursOnly, night), nil, protocol.CodeOutsideHours},
		{"an admin out of hours", attaching(admin, conv(admin.AccountID, false), hoursOnly, night), nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.AccessUntil = tt.until
			if got := codeOf(MayUpload(tt.in)); got != tt.want {
				t.Fatalf("MayUpload = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMayFetch(t *testing.T) {
	plain := settings(nil)
	hoursOnly := settings(func(s *protocol.Settings) { open9to5(s); s.CounselorHoursOnly = true })
	night := monday.Add(12 * time.Hour)
	stranger := store.Principal{AccountID: 8, OrgID: 1, Role: protocol.RoleClient}
	sent := StoredAttachment{Attachment: protocol.Attachment{ID: 5, Type: protocol.TypeJPEG}, ConversationID: 3, UploaderID: client.AccountID, MessageID: 40}
	unsent := sent
	unsent.MessageID = 0
	mine := conv(co.AccountID, false)
	for _, tt := range []struct {
		name string
		in   Attaching
		a    StoredAttachment
		want protocol.Code
	}{
		{"the client", attaching(client, mine, plain, monday), sent, ""},
		{"the assignee", attaching(co, mine, plain, monday), sent, ""},
		{"an admin", attaching(admin, mine, plain, monday), sent, ""},
		{"a colleague", attaching(other, mine, plain, monday), sent, protocol.CodeForbidden},
		{"the pool's reader before taking it", attaching(co, conv(0, true), plain, monday), sent, protocol.CodeForbidden},
		{"another client", attaching(stranger, mine, plain, monday), sent, protocol.CodeNotFound},
		{"the assignee out of hours", attaching(co, mine, hoursOnly, night), sent, protocol.CodeOutsideHours},
		{"its uploader before sending", attaching(client, mine, plain, monday), unsent, ""},
		{"an admin before it is sent", attaching(admin, mine, plain, monday), unsent, protocol.CodeNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(MayFetch(tt.in, tt.a)); got != tt.want {
				t.Fatalf("MayFetch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAttachToMessage(t *testing.T) {
	a := StoredAttachment{Attachment: protocol.Attachment{ID: 5}, ConversationID: 3, UploaderID: client.AccountID}
	sentAlready := a
	sentAlready.MessageID = 9
	for _, tt := range []struct {
		name string
		p    store.Principal
		conv int64
		kind protocol.MessageKind
		a    StoredAttachment
		want protocol.Code
	}{
		{"its uploader, its conversation", client, 3, protocol.KindText, a, ""},
		{"someone else's upload", co, 3, protocol.KindText, a, protocol.CodeNotFound},
		{"into another conversation", client, 4, protocol.KindText, a, protocol.CodeNotFound},
		{"on a note", client, 3, protocol.KindNote, a, protocol.CodeInvalid},
		{"twice", client, 3, protocol.KindText, sentAlready, protocol.CodeConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(AttachToMessage(tt.p, tt.conv, tt.kind, tt.a)); got != tt.want {
				t.Fatalf("AttachToMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSendMessageWithAttachment(t *testing.T) {
	a := &protocol.Attachment{ID: 5, Type: protocol.TypePDF, Size: 10}
	out, err := SendMessage(Send{Sender: client, Conv: conv(0, true), Settings: settings(nil), Now: monday, Attachment: a})
	if err != nil || out.Message.Attachment != a || out.Message.Body != "" {
		t.Fatalf("a file without words: %+v %v", out.Message, err)
	}
	if _, err := SendMessage(Send{Sender: client, Conv: conv(0, true), Settings: settings(nil), Now: monday}); codeOf(err) != protocol.CodeInvalidBody {
		t.Fatalf("neither file nor words: %v", err)
	}
}
