// Package slips writes one-time credentials for handing out: a CSV for
// mail merges and an HTML sheet, ready to print, with one slip per client
// to cut out or fold into a sealed letter.
package slips

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Sheet is what is printed.
type Sheet struct {
	OrgName string
	AppURL  string // where clients open the app
	Created time.Time
	Slips   []protocol.Credentials
}

// WriteCSV writes nickname, login ID, password and access date, one row
// per client. Cells that a spreadsheet would run as a formula are quoted
// with a leading apostrophe.
func WriteCSV(w io.Writer, s Sheet) error {
	cw := csv.NewWriter(w)
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
<style>
body { font-family: "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 0; color: #111; }
.slip { box-sizing: border-box; height: 92mm; padding: 10mm 14mm; border-bottom: 1px dashed #888; page-break-inside: avoid; }
.slip:nth-child(3n) { page-break-after: always; }
h1 { font-size: 13pt; margin: 0 0 4mm; }
dl { display: grid; grid-template-columns: 32mm 1fr; gap: 2mm 4mm; margin: 0 0 4mm; font-size: 12pt; }
dt { color: #444; }
dd { margin: 0; font-family: "Noto Sans Mono", ui-monospace, monospace; font-size: 15pt; letter-spacing: 0.08em; }
p { font-size: 9.5pt; line-height: 1.6; margin: 0; }
@page { size: A4; margin: 10mm; }
</style>
</head>
<body>
{{range .Slips}}<section class="slip">
<h1>{{$.OrgName}}　相談チャットのご案内 / Your sign-in</h1>
<dl>
<dt>ニックネーム</dt><dd>{{.Account.Nickname}}</dd>
<dt>ログインID</dt><dd>{{.LoginID}}</dd>
<dt>パスワード</dt><dd>{{.Password}}</dd>
{{if .Account.AccessUntil}}<dt>利用期限</dt><dd>{{.Account.AccessUntil.Format "2006-01-02"}}</dd>{{end}}
</dl>
<p>スマートフォンのブラウザで {{$.AppURL}} を開き、上のログインIDとパスワードでログインしてください。お名前やメールアドレスの登録は不要です。この用紙は他の人に見られない場所に保管してください。</p>
<p>Open {{$.AppURL}} on your phone and sign in with the login ID and password above. No name or e-mail is needed. Keep this slip where nobody else can read it.</p>
</section>
{{end}}</body>
</html>
`))

// WriteHTML writes the printable sheet. Every value is HTML-escaped.
func WriteHTML(w io.Writer, s Sheet) error {
	if err := page.Execute(w, s); err != nil {
		return fmt.Errorf("write slips: %w", err)
	}
	return nil
}
