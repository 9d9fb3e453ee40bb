// Generated from pkg/pii (go test ./pkg/pii -run TestClientTable -update): edit the Go table, not this file.
// Text that looks like personal data; the app asks before sending it.
export const PATTERNS = [{"kind":"phone","re":"(?:^|[^0-9０-９])[0０][0-9０-９]{1,4}(?:[-‐－―ー−]|\\s)?[0-9０-９]{1,4}(?:[-‐－―ー−]|\\s)?[0-9０-９]{3,4}(?:[^0-9０-９]|$)"},{"kind":"phone","re":"\\+81(?:[-‐－―ー−]|\\s)?[0-9０-９]{1,4}(?:[-‐－―ー−]|\\s)?[0-9０-９]{1,4}(?:[-‐－―ー−]|\\s)?[0-9０-９]{3,4}"},{"kind":"postal","re":"〒\\s*[0-9０-９]{3}[-‐－―ー−]?[0-9０-９]{4}"},{"kind":"postal","re":"(?:^|[^0-9０-９\\-‐－―ー−])[0-9０-９]{3}[-‐－―ー−][0-9０-９]{4}(?:[^0-9０-９\\-‐－―ー−]|$)"},{"kind":"address","re":"[一-龥々]{1,3}[都道府県][一-龥々ァ-ヶ]{1,6}[市区町村郡]"},{"kind":"address","re":"(?:[0-9０-９]|[一二三四五六七八九十])+(?:丁目|番地)"},{"kind":"email","re":"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}"},{"kind":"name","re":"(?:名前|氏名|本名|フルネーム)(?:は|が|：|:)\\s*[一-龥々]{2,}"},{"kind":"name","re":"[一-龥々]{2,4}\\s?[一-龥々]{1,3}と申します"},{"kind":"name","re":"[Mm]y (?:full )?name is [A-Z][a-z]+ [A-Z][a-z]+"}];

const compiled = PATTERNS.map((p) => ({ kind: p.kind, re: new RegExp(p.re, "u") }));

// findPII returns the kinds of personal data text seems to hold, each
// once, in the table's order, as the server's Go code does.
export function findPII(text) {
  const out = [];
  for (const p of compiled) {
    if (out[out.length - 1] === p.kind) continue;
    if (p.re.test(text)) out.push(p.kind);
  }
  return out;
}
