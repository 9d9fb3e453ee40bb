package store

import (
	"context"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Progress is staff's record of where each conversation stands (issue
// 14's statuses); rules.SetProgress decides.
type Progress interface {
	// SetProgress changes a conversation's progress (staff), recording
	// who and when, and announces it to the organisation's staff.
	SetProgress(ctx context.Context, p Principal, conversationID int64, req protocol.ProgressRequest) (protocol.Conversation, error)
}

// ClientNotes are staff's notes about clients (rules.ClientNote).
type ClientNotes interface {
	// SetClientNote replaces the note about a client (staff), recording
	// who and when, and announces it to the organisation's staff.
	SetClientNote(ctx context.Context, p Principal, clientID int64, req protocol.NoteRequest) (protocol.Conversation, error)
}

// Templates are canned replies: the organisation's and each staff
// member's own. rules.NewTemplate and rules.UpdateTemplate decide.
type Templates interface {
	// Templates lists the organisation's templates and the principal's
	// own, most used by the principal first, then by title.
	Templates(ctx context.Context, p Principal) ([]protocol.Template, error)
	// CreateTemplate adds one; the scope's limit is decided in the same
	// transaction.
	CreateTemplate(ctx context.Context, p Principal, req protocol.TemplateRequest) (protocol.Template, error)
	// UpdateTemplate replaces a template's title, body and progress.
	UpdateTemplate(ctx context.Context, p Principal, id int64, req protocol.TemplateRequest) (protocol.Template, error)
	// DeleteTemplate removes one.
	DeleteTemplate(ctx context.Context, p Principal, id int64) error
}
