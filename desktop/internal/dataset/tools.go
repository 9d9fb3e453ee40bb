package dataset

import (
	"context"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Templates are the organisation's canned replies a desk starts with.
var Templates = []protocol.TemplateRequest{
	{Scope: protocol.ScopeOrg, Title: "はじめてのご相談へのお礼", Body: "{nickname}さん、はじめまして。相談員の{counselor}です。\nご相談いただきありがとうございます。ゆっくりで大丈夫ですので、お話を聞かせてください。", Progress: protocol.ProgressInProgress},
	{Scope: protocol.ScopeOrg, Title: "お返事をお待ちしています", Body: "{nickname}さん、お返事はご都合のよいときで大丈夫です。こちらでお待ちしています。", Progress: protocol.ProgressAwaiting},
	{Scope: protocol.ScopeOrg, Title: "次回のご連絡日", Body: "{nickname}さん、確認してから{next_contact}にあらためてご連絡します。"},
	{Scope: protocol.ScopeOrg, Title: "受付時間のご案内", Body: "こちらの受付時間は{hours}です。時間外にいただいたメッセージには、次の受付時間にお返事します。"},
	{Scope: protocol.ScopeOrg, Title: "緊急時の相談先", Body: "{nickname}さん、いますぐ危険を感じるときは、ためらわずに119番や身近な窓口に連絡してください。"},
	{Scope: protocol.ScopeOrg, Title: "終わりのごあいさつ", Body: "{nickname}さん、お話しくださってありがとうございました。また何かあれば、いつでも書いてください。", Progress: protocol.ProgressDone},
	{Scope: protocol.ScopeOrg, Title: "こちらではお受けできないご相談", Body: "{nickname}さん、申し訳ありません。このご相談はこちらではお受けできません。", Progress: protocol.ProgressUnable},
	{Scope: protocol.ScopeOrg, Title: "体調を気づかう", Body: "眠れない日が続くとつらいですね。今夜は少しでも体を休められるといいのですが。"},
}

// Tools gives a built desk what counselors keep: the organisation's
// canned replies, and a progress on every conversation (a sixth each;
// next contacts from today to a week ahead, so the list shows today's).
func Tools(ctx context.Context, admin *client.Client) error {
	for _, t := range Templates {
		if _, err := admin.CreateTemplate(ctx, t); err != nil {
			return fmt.Errorf("add template %q: %w", t.Title, err)
		}
	}
	org, err := admin.Org(ctx)
	if err != nil {
		return fmt.Errorf("read the organisation: %w", err)
	}
	today := hours.Today(org.Settings.Hours, time.Now())
	convs, err := admin.Conversations(ctx)
	if err != nil {
		return fmt.Errorf("list conversations: %w", err)
	}
	for i, c := range convs {
		if c.LastSeq == 0 {
			continue
		}
		req := protocol.ProgressRequest{Progress: protocol.Progresses[i%len(protocol.Progresses)]}
		if req.Progress == protocol.ProgressNextContact {
			req.NextContact = today.AddDate(0, 0, (i/len(protocol.Progresses))%8).Format(protocol.DateLayout)
		}
		if _, err := admin.SetProgress(ctx, c.ID, req); err != nil {
			return fmt.Errorf("set progress of conversation %d: %w", c.ID, err)
		}
	}
	return nil
}
