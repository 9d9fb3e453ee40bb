package rules

import (
	"unicode"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// ClientNote decides a change of staff's note about a client: any staff
// member of the client's organisation may keep it (it is for the
// hand-over between colleagues); at most protocol.MaxNoteRunes, text as
// written (no control characters but newline and tab). expect, when
// given, must be the note as it is now (client.Note): an edit started
// from an older note would overwrite a colleague's words.
//
// conv is the client's conversation (nil if it has none): a counselor
// keeps notes only about a client whose conversation they read in full
// (ReadAccess: theirs), as for the rest of the client's data.
func ClientNote(actor store.Principal, client protocol.Account, conv *protocol.Conversation, note string, expect *string) error {
	if !actor.IsStaff() {
		return protocol.Errorf(protocol.CodeForbidden, "only staff keep notes about clients")
	}
	if client.OrgID != actor.OrgID || client.Role != protocol.RoleClient {
		return protocol.Errorf(protocol.CodeNotFound, "no such client")
	}
	if actor.Role == protocol.RoleCounselor && (conv == nil || ReadAccess(actor, *conv, false) != AccessFull) {
		return protocol.Errorf(protocol.CodeForbidden, "this client's conversation is not yours")
	}
	if err := validNote(note); err != nil {
		return err
	}
	if expect != nil && *expect != client.Note {
		return protocol.Errorf(protocol.CodeConflict, "the note was changed meanwhile; load it again")
	}
	for _, r := range note {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return protocol.Errorf(protocol.CodeInvalid, "note contains control character U+%04X", r)
		}
	}
	return nil
}
