package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// transfers carries uploads and downloads: no whole-request timeout (a
// large file on a slow line takes longer than any API call); the context
// bounds it instead.
var transfers = &http.Client{}

// Upload streams r as a new attachment of a conversation (clients name
// their own). A message then carries it (PendingMessage.Attachment).
func (c *Client) Upload(ctx context.Context, conversationID int64, r io.Reader) (protocol.Attachment, error) {
	path := "/api/v1/conversations/" + strconv.FormatInt(conversationID, 10) + "/attachments"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, r)
	if err != nil {
		return protocol.Attachment{}, fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	c.authorize(req)
	resp, err := transfers.Do(req)
	if err != nil {
		return protocol.Attachment{}, fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if err := apiError(resp); err != nil {
		return protocol.Attachment{}, err
	}
	var a protocol.Attachment
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return a, fmt.Errorf("upload: decode answer: %w", err)
	}
	return a, nil
}

// Download opens an attachment's content; the caller closes it. The
// body is exactly Attachment.Size bytes, or the read fails.
func (c *Client) Download(ctx context.Context, id int64) (io.ReadCloser, protocol.Attachment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/api/v1/attachments/"+strconv.FormatInt(id, 10), nil)
	if err != nil {
		return nil, protocol.Attachment{}, fmt.Errorf("download: %w", err)
	}
	c.authorize(req)
	resp, err := transfers.Do(req)
	if err != nil {
		return nil, protocol.Attachment{}, fmt.Errorf("download: %w", err)
	}
	if err := apiError(resp); err != nil {
		resp.Body.Close()
		return nil, protocol.Attachment{}, err
	}
	a := protocol.Attachment{ID: id, Type: resp.Header.Get("Content-Type"), Size: resp.ContentLength}
	return resp.Body, a, nil
}

func (c *Client) authorize(req *http.Request) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// apiError returns the API's error of a failed response (nil for success).
func apiError(resp *http.Response) error {
	if resp.StatusCode < 300 {
		return nil
	}
	var er protocol.ErrorResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&er); err != nil || er.Error.Code == "" {
		return fmt.Errorf("%s %s: HTTP %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode)
	}
	return &er.Error
}
