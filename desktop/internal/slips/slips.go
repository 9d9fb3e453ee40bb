// Package slips writes one-time credentials for handing out: a CSV for
// mail merges and an HTML sheet, ready to print, with one slip per person
// to cut out or fold into a sealed letter. A client's slip says where to
// open the app on a phone and fills one A4 page: its second half is the
// client guide (pkg/clientguide) with the organisation's real retention
// and contact; a staff member's says which server to enter in the desktop
// app and to choose a password of their own (three to a page).
package slips

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/clientguide"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Sheet is what is printed.
type Sheet struct {
	OrgName string
	AppURL  string // where clients open the app
	Server  string // the server's address, for staff
	Created time.Time
	Slips   []protocol.Credentials
	// RetentionSeconds and Contact are the organisation's settings, which
	// the client guide on each client's page states (zero or empty: the
	// guide says where the app shows them).
	RetentionSeconds int64
	Contact          string
	// Print opens the browser's print dialog as the page loads.
	Print bool
}

// Staff reports whether the sheet is for staff (every slip is a staff
// account's).
func (s Sheet) Staff() bool {
	for _, c := range s.Slips {
		if !c.Account.Role.IsStaff() {
			return false
		}
	}
	return len(s.Slips) > 0
}

// WriteCSV writes nickname, login ID, password and access date, one row
// per client. Cells that a spreadsheet would run as a formula are quoted
// with a leading apostrophe.
func WriteCSV(w io.Writer, s Sheet) error {
	cw := csv.NewWriter(w)
	if s.Staff() {
		if err := cw.Write([]string{"nickname", "role", "login_id", "password", "server"}); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		for _, c := range s.Slips {
			if err := cw.Write([]string{defuse(c.Account.Nickname), string(c.Account.Role), c.LoginID, c.Password, s.Server}); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
		cw.Flush()
		return cw.Error()
	}
	if err := cw.Write([]string{"nickname", "login_id", "password", "access_until", "app_url"}); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, c := range s.Slips {
		until := ""
		if c.Account.AccessUntil != nil {
			until = c.Account.AccessUntil.Format("2006-01-02")
		}
		if err := cw.Write([]string{defuse(c.Account.Nickname), c.LoginID, c.Password, until, s.AppURL}); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuse stops spreadsheet formula injection through a nickname.
func defuse(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

var page = template.Must(template.New("slips").Parse(`<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>{{.OrgName}} ログイン情報</title>
<meta name="robots" content="noindex">
<style>
body { font-family: "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 0; color: #111; }
.slip { box-sizing: border-box; height: 92mm; padding: 10mm 14mm; border-bottom: 1px dashed #888; page-break-inside: avoid; }
.staff.slip:nth-child(3n) { page-break-after: always; }
.client { page-break-after: always; }
.client .slip { height: auto; padding: 4mm 14mm 5mm; }
.client .guide { padding: 5mm 14mm 0; }
{{.GuideCSS}}
h1 { font-size: 13pt; margin: 0 0 4mm; }
dl { display: grid; grid-template-columns: 32mm 1fr; gap: 2mm 4mm; margin: 0 0 4mm; font-size: 12pt; }
dt { color: #444; }
dd { margin: 0; font-family: "Noto Sans Mono", ui-monospace, monospace; font-size: 15pt; letter-spacing: 0.08em; line-height: 1.5; }
dd.name { font-family: inherit; letter-spacing: normal; }
p { font-size: 9.5pt; line-height: 1.6; margin: 0; }
@page { size: A4; margin: 10mm; }
</style>
</head>
<body>
{{if .Staff}}{{range .Slips}}<section class="slip staff">
<h1>{{$.OrgName}}　対話 Taiwa 相談員アプリのログイン情報 / Staff sign-in</h1>
<dl>
<dt>お名前</dt><dd class="name">{{.Account.Nickname}}</dd>
<dt>役割</dt><dd class="name">{{if eq .Account.Role "admin"}}管理者 / admin{{else}}相談員 / counselor{{end}}</dd>
<dt>サーバー</dt><dd>{{$.Server}}</dd>
<dt>ログインID</dt><dd>{{.LoginID}}</dd>
<dt>初回パスワード</dt><dd>{{.Password}}</dd>
</dl>
<p>パソコンの対話 Taiwa アプリを起動し、上のサーバー、ログインID、初回パスワードでログインしてください。ログイン後すぐに、メニューの「パスワードを変更」でご自身のパスワードに変更し、「2段階認証」も設定してください。この用紙は読んだら破棄してください。</p>
<p>Open the Taiwa desktop app and sign in with the server, login ID and first password above. Then choose your own password at once (menu: Change password) and turn on two-step sign-in. Destroy this slip once read.</p>
</section>
{{end}}{{else}}{{range .Slips}}<div class="client"><section class="slip">
<h1>{{$.OrgName}}　相談チャットのご案内 / Your sign-in</h1>
<dl>
<dt>ニックネーム</dt><dd class="name">{{.Account.Nickname}}</dd>
<dt>ログインID</dt><dd>{{.LoginID}}</dd>
<dt>パスワード</dt><dd>{{.Password}}</dd>
{{if .Account.AccessUntil}}<dt>利用期限</dt><dd>{{.Account.AccessUntil.Format "2006-01-02"}}</dd>{{end}}
</dl>
<p>スマートフォンのブラウザで {{$.AppURL}} を開き、上のログインIDとパスワードでログインしてください。お名前やメールアドレスの登録は不要です。この用紙は他の人に見られない場所に保管してください。</p>
<p>Open {{$.AppURL}} on your phone and sign in with the login ID and password above. No name or e-mail is needed. Keep this slip where nobody else can read it.</p>
</section>
{{$.Guide}}</div>
{{end}}{{end}}{{if .Print}}<script>window.addEventListener("load", () => window.print());</script>{{end}}</body>
</html>
`))

// printed is what the sheet's template reads: the sheet, and the client
// guide rendered once for every client's page.
type printed struct {
	Sheet
	Guide    template.HTML
	GuideCSS template.CSS
}

// WriteHTML writes the printable sheet. Every value is HTML-escaped.
func WriteHTML(w io.Writer, s Sheet) error {
	p := printed{Sheet: s, GuideCSS: template.CSS(clientguide.CSS)}
	if !s.Staff() {
		var b bytes.Buffer
		if err := clientguide.Write(&b, clientguide.Data{AppURL: s.AppURL, RetentionSeconds: s.RetentionSeconds, Contact: s.Contact}); err != nil {
			return fmt.Errorf("write slips: %w", err)
		}
		// The guide's template escaped every value it filled in.
		p.Guide = template.HTML(b.String())
	}
	if err := page.Execute(w, p); err != nil {
		return fmt.Errorf("write slips: %w", err)
	}
	return nil
}
