package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/push"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func (s *Server) me(w http.ResponseWriter, r *http.Request, a *session) error {
	writeJSON(w, http.StatusOK, publicAccount(a.account.Account))
	return nil
}

// patchMe lets a staff member choose the name clients see above their
// replies, and their presence (受付中, 離席, 受付停止).
func (s *Server) patchMe(w http.ResponseWriter, r *http.Request, a *session) error {
	var patch protocol.MePatch
	if err := decodeJSON(w, r, &patch); err != nil {
		return err
	}
	acct, err := s.store.UpdateMe(r.Context(), a.p, patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, publicAccount(acct))
	return nil
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, a *session) error {
	org, err := s.store.Org(r.Context(), a.p.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orgFor(a.p.Role, org))
	return nil
}

// orgFor is the organisation as one role is told of it: clients learn
// its name only if it chose to be named on their phones.
func orgFor(role protocol.Role, org protocol.Org) protocol.Org {
	if role == protocol.RoleClient {
		return org.ForClient()
	}
	return org
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, a *session) error {
	var patch protocol.SettingsPatch
	if err := decodeJSON(w, r, &patch); err != nil {
		return err
	}
	org, err := s.store.UpdateSettings(r.Context(), a.p, patch)
	if err != nil {
		return err
	}
	s.noteAvailability(org)
	// Access hours that bind from now on close counselors' connections
	// now, not at the next sweep.
	s.closeOutsideHours(org)
	s.log.Info("settings changed", "org", org.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusOK, org)
	return nil
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Accounts(r.Context(), a.p, protocol.RoleClient)
	if err != nil {
		return err
	}
	if a.p.Role.ManagesClients() {
		// Who is due for automatic deletion, and when (issue 16).
		org, err := s.store.Org(r.Context(), a.p.OrgID)
		if err != nil {
			return err
		}
		for i := range list {
			list[i].DeleteAt = rules.DeletionDue(list[i], org.Settings.DeleteAfterAccessDays)
		}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) listStaff(w http.ResponseWriter, r *http.Request, a *session) error {
	admins, err := s.store.Accounts(r.Context(), a.p, protocol.RoleAdmin)
	if err != nil {
		return err
	}
	counselors, err := s.store.Accounts(r.Context(), a.p, protocol.RoleCounselor)
	if err != nil {
		return err
	}
	list := append(admins, counselors...)
	if a.p.Role == protocol.RoleAdmin {
		// Registrars (issue 16) are the admins' to manage, not colleagues.
		registrars, err := s.store.Accounts(r.Context(), a.p, protocol.RoleRegistrar)
		if err != nil {
			return err
		}
		list = append(list, registrars...)
	}
	for i := range list {
		list[i].Online = s.hub.connected(list[i].ID)
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// NewCredentials creates an account with a generated login ID and one-time
// password. p is the acting admin, or the zero Principal for the operator.
func (s *Server) NewCredentials(ctx context.Context, p store.Principal, na store.NewAccount) (protocol.Credentials, error) {
	password, hash, err := s.newPassword(ctx)
	if err != nil {
		return protocol.Credentials{}, err
	}
	return s.createWithPassword(ctx, p, na, password, hash)
}

// newPassword makes a one-time password and its hash.
func (s *Server) newPassword(ctx context.Context) (password, hash string, err error) {
	password = credential.NewPassword()
	hash, err = s.hashPassword(ctx, password, s.cfg.Generated)
	return password, hash, err
}

// createWithPassword creates the account with a password already hashed.
func (s *Server) createWithPassword(ctx context.Context, p store.Principal, na store.NewAccount, password, hash string) (protocol.Credentials, error) {
	na.PasswordHash = hash
	// A chosen login ID is used as given or refused; a generated one is
	// retried on the rare collision (31^8 possible IDs).
	generated := na.LoginID == ""
	for attempt := 0; ; attempt++ {
		if generated {
			na.LoginID = credential.NewLoginID()
		}
		acct, err := s.store.CreateAccount(ctx, p, na)
		if err == nil {
			return protocol.Credentials{Account: acct, LoginID: acct.LoginID, Password: password}, nil
		}
		if !generated || protocol.AsError(err).Code != protocol.CodeConflict || attempt >= 5 {
			return protocol.Credentials{}, err
		}
	}
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.CreateClientRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	cred, err := s.NewCredentials(r.Context(), a.p, store.NewAccount{OrgID: a.p.OrgID, Role: protocol.RoleClient,
		Nickname: req.Nickname, Note: req.Note, AccessUntil: req.AccessUntil, GroupID: req.GroupID})
	if err != nil {
		return err
	}
	s.log.Info("client created", "org", a.p.OrgID, "client", cred.Account.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, cred)
	return nil
}

// bulkWorkers is how many passwords of a bulk registration are hashed at
// once (the hashers bound it further); bulkWriteTimeout bounds the answer.
const (
	bulkWorkers      = 4
	bulkWriteTimeout = 10 * time.Minute
)

func (s *Server) bulkCreateClients(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.BulkCreateClientsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	names, err := rules.BulkNicknames(req)
	if err != nil {
		return err
	}
	// The answer is the only place the passwords are shown: it must not be
	// cut off by the server's usual write timeout when the hashing of 500
	// takes longer on a busy machine.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(bulkWriteTimeout)); err != nil {
		s.log.Warn("could not extend the write deadline of a bulk registration", "err", err)
	}
	// The passwords are hashed a few at a time (the hashers bound that,
	// and leave sign-ins a slot); the accounts are then made in the order
	// asked, so that a seminar's clients are listed as their slips are.
	type secret struct{ password, hash string }
	secrets := make([]secret, len(names))
	g, ctx := errgroup.WithContext(r.Context())
	g.SetLimit(bulkWorkers)
	for i := range names {
		g.Go(func() error {
			pw, hash, err := s.newPassword(ctx)
			secrets[i] = secret{pw, hash}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	out := make([]protocol.Credentials, 0, len(names))
	for i, n := range names {
		cred, err := s.createWithPassword(r.Context(), a.p, store.NewAccount{OrgID: a.p.OrgID, Role: protocol.RoleClient,
			Nickname: n, AccessUntil: req.AccessUntil, GroupID: req.GroupID}, secrets[i].password, secrets[i].hash)
		if err != nil {
			return fmt.Errorf("bulk create after %d of %d: %w", len(out), len(names), err)
		}
		out = append(out, cred)
	}
	s.log.Info("clients created in bulk", "org", a.p.OrgID, "count", len(out), "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) updateClient(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.UpdateClientRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	acct, err := s.store.UpdateClient(r.Context(), a.p, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}

// accountForPath loads the account named in the path and checks it is of
// the kind the path says (/clients/ or /staff/).
func (s *Server) accountForPath(r *http.Request, a *session) (protocol.Account, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return protocol.Account{}, err
	}
	acct, err := s.store.Account(r.Context(), a.p, id)
	if err != nil {
		return protocol.Account{}, err
	}
	wantClient := strings.HasPrefix(r.URL.Path, "/api/v1/clients/")
	if (acct.Role == protocol.RoleClient) != wantClient {
		return protocol.Account{}, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	return acct, nil
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request, a *session) error {
	acct, err := s.accountForPath(r, a)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAccount(r.Context(), a.p, acct.ID); err != nil {
		return err
	}
	s.log.Info("account deleted", "org", a.p.OrgID, "account", acct.ID, "role", acct.Role, "by", a.p.AccountID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, a *session) error {
	acct, err := s.accountForPath(r, a)
	if err != nil {
		return err
	}
	password := credential.NewPassword()
	hash, err := s.hashPassword(r.Context(), password, s.cfg.Generated)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(r.Context(), a.p, acct.ID, hash); err != nil {
		return err
	}
	s.log.Info("password reset", "org", a.p.OrgID, "account", acct.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusOK, protocol.Credentials{Account: acct, LoginID: acct.LoginID, Password: password})
	return nil
}

func (s *Server) createStaff(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.CreateStaffRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !req.Role.IsStaff() && req.Role != protocol.RoleRegistrar {
		return protocol.Errorf(protocol.CodeInvalid, "role must be admin, counselor or registrar")
	}
	cred, err := s.NewCredentials(r.Context(), a.p, store.NewAccount{OrgID: a.p.OrgID, Role: req.Role, Nickname: req.Nickname, GroupIDs: req.GroupIDs})
	if err != nil {
		return err
	}
	s.log.Info("staff created", "org", a.p.OrgID, "account", cred.Account.ID, "role", req.Role, "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, cred)
	return nil
}

func (s *Server) forceLogout(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeAccountSessions(r.Context(), a.p, id, "forced"); err != nil {
		return err
	}
	s.log.Info("forced logout", "org", a.p.OrgID, "account", id, "by", a.p.AccountID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword lets a staff member choose their own password: the
// current one is checked (and counts toward the login lockout), the new
// one against the staff policy; their other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.ChangePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.New) > credential.MaxPasswordBytes {
		return protocol.Errorf(protocol.CodeInvalid, "password must be at most %d bytes", credential.MaxPasswordBytes)
	}
	if err := s.currentPassword(r, a, req.Current); err != nil {
		return err
	}
	if err := credential.CheckStaffPassword(req.New, a.account.LoginID, a.account.Nickname); err != nil {
		return err
	}
	hash, err := s.hashPassword(r.Context(), credential.NormalizePassword(req.New), s.cfg.Password)
	if err != nil {
		return err
	}
	if err := s.store.ChangeOwnPassword(r.Context(), a.p, a.ID, hash); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) totpStatus(w http.ResponseWriter, r *http.Request, a *session) error {
	secret, _, err := s.store.TOTP(r.Context(), a.p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.TOTPStatus{On: secret != ""})
	return nil
}

// totpEnroll starts turning on a second factor: after the current password,
// a new secret, kept pending until a code from it confirms the app has it.
func (s *Server) totpEnroll(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.TOTPRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.currentPassword(r, a, req.Password); err != nil {
		return err
	}
	if secret, _, err := s.store.TOTP(r.Context(), a.p.AccountID); err != nil {
		return err
	} else if secret != "" {
		return protocol.Errorf(protocol.CodeConflict, "the second factor is already on; turn it off first")
	}
	e, err := credential.NewTOTP("Taiwa", a.account.LoginID)
	if err != nil {
		return err
	}
	if err := s.store.SetPendingTOTP(r.Context(), a.p, e.Secret); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.TOTPEnrollment{Secret: e.Secret, URL: e.URL, QRPNG: e.QRPNG})
	return nil
}

// totpConfirm turns the pending secret on; a wrong code counts toward the
// lockout like any other guess.
func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.TOTPRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	pending, err := s.store.PendingTOTP(r.Context(), a.p.AccountID)
	if err != nil {
		return err
	}
	if pending == "" {
		return protocol.Errorf(protocol.CodeConflict, "no second factor is being set up")
	}
	var step int64
	err = s.checkSecret(r, a, func() (ok bool, _ error) {
		step, ok = credential.TOTPStep(req.Code, pending, s.cfg.Now())
		return ok, nil
	})
	if protocol.AsError(err).Code == protocol.CodeBadCredentials {
		return protocol.Errorf(protocol.CodeBadCredentials, "the code does not match: check the app's clock and try the next code")
	}
	if err != nil {
		return err
	}
	if err := s.store.ActivateTOTP(r.Context(), a.p, step); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// totpOff turns one's own second factor off: the current password and a
// current code prove both factors are at hand (a lost phone is an admin's
// reset).
func (s *Server) totpOff(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.TOTPRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.currentPassword(r, a, req.Password); err != nil {
		return err
	}
	secret, _, err := s.store.TOTP(r.Context(), a.p.AccountID)
	if err != nil {
		return err
	}
	if secret == "" {
		return protocol.Errorf(protocol.CodeConflict, "the second factor is not on")
	}
	var step int64
	err = s.checkSecret(r, a, func() (ok bool, _ error) {
		step, ok = credential.TOTPStep(req.Code, secret, s.cfg.Now())
		return ok, nil
	})
	if err != nil {
		return err
	}
	if err := s.store.UseTOTPStep(r.Context(), a.p.AccountID, step); err != nil {
		return err
	}
	if err := s.store.DisableTOTP(r.Context(), a.p, a.p.AccountID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// totpReset is an admin turning off a staff member's second factor.
func (s *Server) totpReset(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DisableTOTP(r.Context(), a.p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// devices lists an account's devices and when each last confirmed its
// deletions.
func (s *Server) devices(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, err := s.store.Devices(r.Context(), a.p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// wipedAfterEnd takes the deletion receipt of a device whose session has
// ended (signed out by an admin, the client deleted, expired): it wiped
// what it held. The ended session's token identifies it; nothing else is
// allowed with that token.
func (s *Server) wipedAfterEnd(w http.ResponseWriter, r *http.Request) error {
	tok, byCookie := bearer(r)
	if tok == "" {
		return protocol.Errorf(protocol.CodeUnauthorized, "no token")
	}
	if byCookie && !s.sameOrigin(r) {
		return protocol.Errorf(protocol.CodeForbidden, "cross-origin request refused")
	}
	if err := s.store.RecordWipedEnded(r.Context(), credential.TokenHash(tok)); err != nil {
		return err
	}
	if byCookie {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Conversations(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, a *session) error {
	return s.historyPage(w, r, a, s.store.History)
}

// supervise is an admin's read-only look into a conversation; the store
// records it in the audit log.
func (s *Server) supervise(w http.ResponseWriter, r *http.Request, a *session) error {
	return s.historyPage(w, r, a, s.store.Supervise)
}

type historyFunc func(ctx context.Context, p store.Principal, conversationID, before int64, limit int) (protocol.MessagePage, error)

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request, a *session, read historyFunc) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	before, limit, err := pageQuery(r)
	if err != nil {
		return err
	}
	page, err := read(r.Context(), a.p, id, before, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// pageQuery reads ?before=&limit= (limit 1 to 500, default 100).
func pageQuery(r *http.Request) (before int64, limit int, err error) {
	if before, err = queryInt(r, "before", 0); err != nil {
		return 0, 0, err
	}
	l, err := queryInt(r, "limit", 100)
	if err != nil {
		return 0, 0, err
	}
	if l < 1 || l > 500 {
		return 0, 0, protocol.Errorf(protocol.CodeBadRequest, "limit must be 1 to 500")
	}
	return before, int(l), nil
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, a *session) error {
	before, limit, err := pageQuery(r)
	if err != nil {
		return err
	}
	page, err := s.store.AuditLog(r.Context(), a.p, before, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// unansweredWeeks counts the conversations that ended as 対応できず, per
// week (?weeks=N, default 8).
func (s *Server) unansweredWeeks(w http.ResponseWriter, r *http.Request, a *session) error {
	weeks := 8
	if v := r.URL.Query().Get("weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalid, "weeks must be a number")
		}
		weeks = n
	}
	list, err := s.store.UnansweredWeeks(r.Context(), a.p, weeks)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.AssignRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, err := s.store.Assign(r.Context(), a.p, id, req.AssigneeID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// claim takes a conversation from the pool (担当する): of several at once,
// one wins and the others are told it is taken.
func (s *Server) claim(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	conv, err := s.store.Claim(r.Context(), a.p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// nominees lists the staff members clients may nominate (指名): display
// name and introduction only.
func (s *Server) nominees(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Nominees(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// nominate is a client asking for one staff member (指名).
func (s *Server) nominate(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.NominateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, err := s.store.Nominate(r.Context(), a.p, req.CounselorID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// transfer hands a conversation to a colleague, or back to the pool, with
// a note only staff read.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.TransferRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	conv, err := s.store.Transfer(r.Context(), a.p, id, req.To, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// end ends a conversation (対応終了): nobody has it until its client
// writes again.
func (s *Server) end(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	conv, err := s.store.End(r.Context(), a.p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

// preview shows a pool conversation's waiting messages to a staff member
// who may take it; the store records the reading.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pv, err := s.store.Preview(r.Context(), a.p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}

// timeNow is the server's clock at millisecond precision.
func (s *Server) timeNow() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// pushConfig tells the PWA whether it can offer notifications and, if so,
// what its browser needs to obtain a device token.
func (s *Server) pushConfig(w http.ResponseWriter, _ *http.Request, _ *session) error {
	var resp struct {
		Enabled bool            `json:"enabled"`
		Web     *push.WebConfig `json:"web,omitempty"`
	}
	if s.cfg.Push != nil && s.cfg.PushWeb != nil {
		resp.Enabled, resp.Web = true, s.cfg.PushWeb
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func decodePushToken(w http.ResponseWriter, r *http.Request) (string, error) {
	var req protocol.PushTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return "", err
	}
	if len(req.Token) == 0 || len(req.Token) > 4096 || strings.ContainsFunc(req.Token, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return "", protocol.Errorf(protocol.CodeInvalid, "token must be 1 to 4096 printable ASCII characters")
	}
	return req.Token, nil
}

func (s *Server) setPushToken(w http.ResponseWriter, r *http.Request, a *session) error {
	tok, err := decodePushToken(w, r)
	if err != nil {
		return err
	}
	if err := s.store.SetPushToken(r.Context(), a.p, a.ID, tok); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deletePushToken(w http.ResponseWriter, r *http.Request, a *session) error {
	tok, err := decodePushToken(w, r)
	if err != nil {
		return err
	}
	if err := s.store.DeletePushToken(r.Context(), a.p, tok); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Client groups (issue 16).

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Groups(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.GroupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	g, err := s.store.CreateGroup(r.Context(), a.p, req)
	if err != nil {
		return err
	}
	s.log.Info("group created", "org", a.p.OrgID, "group", g.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req protocol.GroupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	g, err := s.store.UpdateGroup(r.Context(), a.p, id, req)
	if err != nil {
		return err
	}
	s.log.Info("group changed", "org", a.p.OrgID, "group", g.ID, "by", a.p.AccountID)
	writeJSON(w, http.StatusOK, g)
	return nil
}

// Announcements (お知らせ, issue 16).

func (s *Server) listAnnouncements(w http.ResponseWriter, r *http.Request, a *session) error {
	list, err := s.store.Announcements(r.Context(), a.p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) createAnnouncement(w http.ResponseWriter, r *http.Request, a *session) error {
	var req protocol.AnnouncementRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	an, err := s.store.CreateAnnouncement(r.Context(), a.p, req)
	if err != nil {
		return err
	}
	s.log.Info("announcement sent", "org", a.p.OrgID, "announcement", an.ID, "groups", len(an.GroupIDs), "by", a.p.AccountID)
	writeJSON(w, http.StatusCreated, an)
	return nil
}

func (s *Server) deleteAnnouncement(w http.ResponseWriter, r *http.Request, a *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteAnnouncement(r.Context(), a.p, id); err != nil {
		return err
	}
	s.log.Info("announcement deleted", "org", a.p.OrgID, "announcement", id, "by", a.p.AccountID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupUsage serves each group's weekly figures (issue 16): no identities,
// small numbers suppressed.
func (s *Server) groupUsage(w http.ResponseWriter, r *http.Request, a *session) error {
	weeks := 8
	if v := r.URL.Query().Get("weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalid, "weeks must be a number")
		}
		weeks = n
	}
	list, err := s.store.Usage(r.Context(), a.p, weeks)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
