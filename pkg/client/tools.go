package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// SetProgress sets staff's progress of a conversation (staff).
func (c *Client) SetProgress(ctx context.Context, conversationID int64, req protocol.ProgressRequest) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPut, fmt.Sprintf("/api/v1/conversations/%d/progress", conversationID), req, &out)
}

// SetClientNote replaces staff's note about a client (staff); with
// Expect, only if the note is still as the editor found it.
func (c *Client) SetClientNote(ctx context.Context, clientID int64, req protocol.NoteRequest) (protocol.Conversation, error) {
	var out protocol.Conversation
	return out, c.do(ctx, http.MethodPut, fmt.Sprintf("/api/v1/clients/%d/note", clientID), req, &out)
}

// Templates lists the organisation's canned replies and the caller's own,
// most used first (staff).
func (c *Client) Templates(ctx context.Context) ([]protocol.Template, error) {
	var out []protocol.Template
	return out, c.do(ctx, http.MethodGet, "/api/v1/templates", nil, &out)
}

// CreateTemplate adds a canned reply (the organisation's: admins).
func (c *Client) CreateTemplate(ctx context.Context, req protocol.TemplateRequest) (protocol.Template, error) {
	var out protocol.Template
	return out, c.do(ctx, http.MethodPost, "/api/v1/templates", req, &out)
}

// UpdateTemplate replaces a canned reply's title, text and progress.
func (c *Client) UpdateTemplate(ctx context.Context, id int64, req protocol.TemplateRequest) (protocol.Template, error) {
	var out protocol.Template
	return out, c.do(ctx, http.MethodPut, fmt.Sprintf("/api/v1/templates/%d", id), req, &out)
}

// DeleteTemplate removes a canned reply.
func (c *Client) DeleteTemplate(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/templates/%d", id), nil, nil)
}
