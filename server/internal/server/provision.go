package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/sealbox"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// The provisioning API (issue 16): a booking or payment system creates
// clients, sets their end of access and deletes them with an API key of
// the organisation's (docs/provisioning.openapi.json). Keys are made and
// revoked by admins with a session.

// API keys, for admins.

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.APIKeys(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.APIKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	token := protocol.APIKeyPrefix + credential.NewToken()
	k, err := s.store.CreateAPIKey(r.Context(), a.p, req, credential.TokenHash(token))
	if err != nil {
		return err
	}
	s.log.Info("api key created", "org", a.p.OrgID, "key", k.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, protocol.NewAPIKey{APIKey: k, Key: token})
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeAPIKey(r.Context(), a.p, id); err != nil {
		return err
	}
	s.log.Info("api key revoked", "org", a.p.OrgID, "key", id, "by", a.p.AccountID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keyed wraps a provisioning handler: the request carries an API key
// (Authorization: Bearer tk_…); a session token is not one.
func (s *Server) keyed(fn func(http.ResponseWriter, *http.Request, store.Principal, string) error) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || !strings.HasPrefix(token, protocol.APIKeyPrefix) || len(token) > 100 {
			return protocol.Errorf(protocol.CodeUnauthorized, "this route takes an API key (Authorization: Bearer %s…)", protocol.APIKeyPrefix)
		}
		p, _, err := s.store.APIKeyByToken(r.Context(), credential.TokenHash(token))
		if err != nil {
			return err
		}
		return fn(w, r, p, token)
	})
}

// provisionSecret is what an Idempotency-Key's record keeps of the answer
// (sealed): the rest is in the record or asked again.
type provisionSecret struct {
	LoginID  string `json:"login_id"`
	Password string `json:"password"`
}

// idemBox seals an Idempotency-Key's answer under a key derived from the
// API key and the Idempotency-Key: the server keeps neither, so the
// one-time password in the record opens only for the retry that carries
// both (a copy of the database does not).
func idemBox(token, idemKey string) (*sealbox.Box, []byte) {
	k := sha256.Sum256([]byte("taiwa provisioning v1\x00" + token + "\x00" + idemKey))
	box, err := sealbox.New(k[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a box
	}
	return box, []byte("idempotency\x00" + idemKey)
}

// appURL is where the organisation's clients open the app.
func (s *Server) appURL(r *http.Request, orgID int64) (string, error) {
	org, err := s.store.Org(r.Context(), orgID)
	if err != nil {
		return "", err
	}
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + org.AppPath, nil
}

// provisionClient creates a client (POST /provision/clients). The
// Idempotency-Key is recorded with the client in one transaction: a retry
// or a concurrent twin gets the first answer, never a second client.
func (s *Server) provisionClient(w http.ResponseWriter, r *http.Request, p store.Principal, token string) error {
	idemKey := r.Header.Get(protocol.HeaderIdempotencyKey)
	if err := rules.ValidIdempotencyKey(idemKey); err != nil {
		return err
	}
	var req protocol.ProvisionClientRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	canon, _ := json.Marshal(req)
	reqHash := sha256.Sum256(canon)
	if rec, err := s.store.Idempotent(r.Context(), p.KeyID, idemKey); err != nil || rec != nil {
		if err != nil {
			return err
		}
		return s.replay(w, r, p.OrgID, rec, reqHash[:], token, idemKey)
	}
	if req.GroupID == 0 {
		return protocol.Errorf(protocol.CodeInvalid, "group_id is required")
	}
	password, hash, err := s.newPassword(r.Context())
	if err != nil {
		return err
	}
	box, label := idemBox(token, idemKey)
	na := store.NewAccount{OrgID: p.OrgID, Role: protocol.RoleClient, Nickname: req.Nickname, AccessUntil: req.AccessUntil, GroupID: req.GroupID,
		Idem: &store.NewIdempotency{KeyID: p.KeyID, Key: idemKey, RequestHash: reqHash[:], Seal: func(loginID string) []byte {
			b, _ := json.Marshal(provisionSecret{LoginID: loginID, Password: password})
			return box.Seal(b, label)
		}}}
	cred, err := s.createWithPassword(r.Context(), p, na, password, hash)
	if errors.Is(err, store.ErrIdempotencyKeyUsed) {
		// A twin with the same key committed first: its answer is ours.
		rec, err := s.store.Idempotent(r.Context(), p.KeyID, idemKey)
		if err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("idempotency key %q used but not found", idemKey)
		}
		return s.replay(w, r, p.OrgID, rec, reqHash[:], token, idemKey)
	}
	if err != nil {
		return err
	}
	url, err := s.appURL(r, p.OrgID)
	if err != nil {
		return err
	}
	s.log.Info("client provisioned", "org", p.OrgID, "client", cred.Account.ID, "key", p.KeyID)
	writeJSON(w, http.StatusCreated, protocol.ProvisionedClient{ID: cred.Account.ID, LoginID: cred.LoginID, Password: password, AppURL: url, GroupID: req.GroupID})
	return nil
}

// replay answers a repeated Idempotency-Key with the first answer; the
// same key with another request is a conflict.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, orgID int64, rec *store.Idempotency, reqHash []byte, token, idemKey string) error {
	if !bytes.Equal(rec.RequestHash, reqHash) {
		return protocol.Errorf(protocol.CodeConflict, "this %s was used for a different request", protocol.HeaderIdempotencyKey)
	}
	box, label := idemBox(token, idemKey)
	plain, err := box.Open(rec.Sealed, label)
	if err != nil {
		return fmt.Errorf("open the idempotency record: %w", err)
	}
	var sec provisionSecret
	if err := json.Unmarshal(plain, &sec); err != nil {
		return fmt.Errorf("read the idempotency record: %w", err)
	}
	url, err := s.appURL(r, orgID)
	if err != nil {
		return err
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeJSON(w, http.StatusCreated, protocol.ProvisionedClient{ID: rec.AccountID, LoginID: sec.LoginID, Password: sec.Password, AppURL: url, GroupID: rec.GroupID})
	return nil
}

// updateProvisioned sets or clears a client's end of access; one that has
// passed signs the client out at once.
func (s *Server) updateProvisioned(w http.ResponseWriter, r *http.Request, p store.Principal, _ string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.ProvisionUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if (req.AccessUntil == nil) == !req.ClearAccessUntil {
		return protocol.Errorf(protocol.CodeInvalid, "give access_until or clear_access_until")
	}
	a, err := s.store.UpdateClient(r.Context(), p, id, protocol.UpdateClientRequest{AccessUntil: req.AccessUntil, ClearAccessUntil: req.ClearAccessUntil})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.ProvisionedAccess{ID: a.ID, AccessUntil: a.AccessUntil, AccessEnds: a.AccessEnds()})
	return nil
}

// deleteProvisioned deletes a client as an admin's deletion does: the
// conversation is erased and every device told.
func (s *Server) deleteProvisioned(w http.ResponseWriter, r *http.Request, p store.Principal, _ string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteAccount(r.Context(), p, id); err != nil {
		return err
	}
	s.log.Info("client deleted by api key", "org", p.OrgID, "client", id, "key", p.KeyID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
