package rules

import (
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// UnsentAttachmentTTL is how long an uploaded file waits for the message
// that carries it; the sweep deletes it after that.
const UnsentAttachmentTTL = time.Hour

// Attaching is an upload about to be stored, or a stored one about to be
// read: the rows a store loads for MayUpload and MayFetch.
type Attaching struct {
	Actor    store.Principal
	Conv     store.ConversationState
	Access   Access // ReadAccess of Actor to Conv
	Settings protocol.Settings
	// AccessUntil is a client actor's access period's end, if any.
	AccessUntil *time.Time
	Now         time.Time
}

// MayUpload decides whether the actor may upload a file to the
// conversation: whoever may write in it (the client; its assignee; a
// staff member about to take it from the pool with a reply),
// within their access period and a counselor within the organisation's
// access hours. The message that carries the file is decided again by
// SendMessage.
func MayUpload(in Attaching) error {
	if err := counselorWindow(in); err != nil {
		return err
	}
	switch p := in.Actor; {
	case p.Role == protocol.RoleClient:
		if in.Access < AccessFull {
			return protocol.Errorf(protocol.CodeNotFound, "no such conversation")
		}
		if in.AccessUntil != nil && !in.Now.Before(*in.AccessUntil) {
			return protocol.Errorf(protocol.CodeForbidden, "the access period for this login has ended")
		}
	case p.IsStaff():
		// As for writing (staffWrite): nobody, an admin included, writes
		// in a colleague's conversation.
		if a := in.Conv.AssigneeID; a != nil && *a != p.AccountID {
			return protocol.Errorf(protocol.CodeForbidden, "this conversation is a colleague's")
		}
	default:
		return protocol.Errorf(protocol.CodeForbidden, "only clients and staff send files")
	}
	return nil
}

// StoredAttachment is what a store keeps of an uploaded file besides its
// content.
type StoredAttachment struct {
	protocol.Attachment
	ConversationID int64
	UploaderID     int64
	MessageID      int64 // 0 until a message carries it
}

// MayFetch decides whether the actor may read a stored file: a file sent
// with a message to whoever may read the conversation's messages
// (ReadAccess: the client, the assignee, the admins; a counselor only
// within access hours); a file not sent yet to its uploader only. A
// client never learns that another's file exists (not found); staff are
// forbidden a colleague's as they are its messages.
func MayFetch(in Attaching, a StoredAttachment) error {
	if err := counselorWindow(in); err != nil {
		return err
	}
	if a.MessageID == 0 {
		if a.UploaderID != in.Actor.AccountID {
			return protocol.Errorf(protocol.CodeNotFound, "no such attachment")
		}
		return nil
	}
	if in.Access < AccessFull {
		if in.Actor.IsStaff() {
			// Staff see that a colleague's or the pool's conversation
			// exists; its files are forbidden like its messages.
			return MayReadMessages(in.Actor, in.Conv.Conversation, false)
		}
		return protocol.Errorf(protocol.CodeNotFound, "no such attachment")
	}
	return nil
}

func counselorWindow(in Attaching) error {
	if in.Actor.Role != protocol.RoleCounselor {
		return nil
	}
	if open, opens := in.Settings.CounselorWindow(in.Now); !open {
		return &protocol.Error{Code: protocol.CodeOutsideHours, Message: "outside the organisation's access hours", ReopensAt: &opens}
	}
	return nil
}

// AttachToMessage decides whether a message may carry a stored file: the
// sender's own upload to this conversation, not sent yet, on a message
// (never a staff-only note).
func AttachToMessage(sender store.Principal, conversationID int64, kind protocol.MessageKind, a StoredAttachment) error {
	if a.UploaderID != sender.AccountID || a.ConversationID != conversationID {
		return protocol.Errorf(protocol.CodeNotFound, "no such attachment")
	}
	if kind == protocol.KindNote {
		return protocol.Errorf(protocol.CodeInvalid, "a note carries no attachment")
	}
	if a.MessageID != 0 {
		return protocol.Errorf(protocol.CodeConflict, "this attachment has been sent already")
	}
	return nil
}
