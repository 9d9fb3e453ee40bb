// Package clientguide is the one-page guide for clients, in plain Japanese
// and large type: how to open the app, put it on the home screen, sign in,
// what the quick exit does, when messages are deleted and whom to ask.
// It is printed as the second half of each client's credentials slip
// (desktop/internal/slips) and served by the server at /guide/client, so
// the paper and the page say the same thing.
package clientguide

import (
	"fmt"
	"html/template"
	"io"
)

// Data fills the guide with the organisation's real settings.
type Data struct {
	// AppURL is where the client opens the app (the slip prints it).
	// Empty: the guide points at the address on the slip.
	AppURL string
	// RetentionSeconds is the organisation's message retention; zero when
	// unknown (the served page, before signing in): the guide then says
	// where the app shows it.
	RetentionSeconds int64
	// Contact is the organisation's contact text (Settings.ContactText);
	// empty: the office that gave the slip.
	Contact string
}

// Retention says the retention in words ("7日", "12時間"), or "" when
// unknown.
func (d Data) Retention() string {
	switch {
	case d.RetentionSeconds <= 0:
		return ""
	case d.RetentionSeconds >= 86400:
		return fmt.Sprintf("%d日", (d.RetentionSeconds+43200)/86400)
	default:
		return fmt.Sprintf("%d時間", max((d.RetentionSeconds+1800)/3600, 1))
	}
}

// CSS is the guide's style, for a page that holds it (the slip sheet has
// its own <style>; the served page links it).
const CSS = `.guide { font-family: "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif; font-size: 12pt; line-height: 1.5; color: #111; }
.guide h2 { font-size: 15pt; margin: 0 0 2mm; }
.guide h3 { font-size: 12.5pt; margin: 2.5mm 0 0.5mm; }
.guide h3 .n { display: inline-block; min-width: 1.6em; height: 1.6em; line-height: 1.6em; border-radius: 50%; background: #2e7d74; color: #fff; text-align: center; margin-right: 0.4em; font-size: 11pt; }
.guide p, .guide li { margin: 0 0 0.5mm; font-size: 12pt; line-height: 1.5; }
.guide ul { margin: 0; padding-left: 1.4em; }
.guide .url { font-family: "Noto Sans Mono", ui-monospace, monospace; word-break: break-all; }
.guide .box { border: 1.5pt solid #2e7d74; border-radius: 3mm; padding: 1.5mm 4mm; margin-top: 2.5mm; }
`

var page = template.Must(template.New("guide").Parse(`<section class="guide" lang="ja">
<h2>相談チャットの使い方</h2>
<h3><span class="n">1</span>アプリを開く</h3>
<p>スマートフォンのブラウザ（iPhoneは Safari、Androidは Chrome）で、{{if .AppURL}}<span class="url">{{.AppURL}}</span> {{else}}ログイン用紙のアドレス{{end}}を開きます。アプリを入れる必要はありません。</p>
<h3><span class="n">2</span>ホーム画面に置く（おすすめ）</h3>
<ul>
<li><b>iPhone</b>：画面の下の共有ボタン（四角から矢印が出ている形）→「ホーム画面に追加」→「追加」。</li>
<li><b>Android</b>：右上の「︙」→「ホーム画面に追加」（「アプリをインストール」と出ることもあります）→「追加」。</li>
</ul>
<p>次からは、ホーム画面のアイコンから開けます。</p>
<h3><span class="n">3</span>ログインする</h3>
<p>用紙のログインIDとパスワードを入れて「ログイン」を押します。家族などと一緒に使う端末では「共用の端末」にチェックを入れてください。お名前やメールアドレスは要りません。</p>
<h3><span class="n">4</span>「すぐに閉じる」ボタン</h3>
<p>画面の右上にあります。押すと、画面がすぐに消えてアプリが閉じます。書きかけの文は残ります。「共用の端末」でログインしたときは、ログアウトもします。メニューで PIN（暗証番号）を決めておくと、次に開くときに PIN を聞きます。</p>
<h3><span class="n">5</span>メッセージは自動で消えます</h3>
<p>{{with .Retention}}メッセージは <b>{{.}}後</b> に、サーバーからもこの端末からも自動で消えます。{{else}}メッセージは、決められた日数がたつと、サーバーからも端末からも自動で消えます。日数はログインした後の最初の画面に書いてあります。{{end}}</p>
<div class="box"><p><b>困ったときは</b>　{{if .Contact}}{{.Contact}}{{else}}用紙をなくしたときや、ログインできないときは、この用紙を受け取った窓口にお問い合わせください。{{end}}</p>
<p>この用紙は、ほかの人に見られない場所にしまってください。</p></div>
</section>
`))

// Write writes the guide as an HTML fragment (a <section>); every value is
// escaped.
func Write(w io.Writer, d Data) error {
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("write the client guide: %w", err)
	}
	return nil
}
