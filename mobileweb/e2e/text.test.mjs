// The app's text helpers on their own (no browser): what is sent, what
// sign-in reads, and what becomes a link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanBody, charCount, normalizeLoginId, normalizePassword, linkParts } from "../static/text.js";

test("cleanBody keeps the words and drops what the server refuses", () => {
  const cases = [
    ["plain", "こんにちは", "こんにちは"],
    ["Windows line ends", "一\r\n二\r三", "一\n二\n三"],
    ["vertical tab and form feed from an editor", "一\v二\f三", "一\n二\n三"],
    ["Unicode line and paragraph separators", "一\u2028二\u2029三", "一\n二\n三"],
    ["NUL, bell, escape and DEL", "a\u0000b\u0007c\u001bd\u007fe", "abcde"],
    ["C1 controls", "a\u0085b\u009fc", "a\nbc"],
    ["tab kept", "a\tb", "a\tb"],
    ["a lone surrogate becomes U+FFFD", "a\ud800b", "a\ufffdb"],
    ["emoji kept", "😀👍🏽", "😀👍🏽"],
  ];
  for (const [name, input, want] of cases) assert.equal(cleanBody(input), want, name);
});

test("charCount counts characters as the server does", () => {
  assert.equal(charCount("あいう"), 3);
  assert.equal(charCount("😀😀"), 2);
});

test("login IDs and generated passwords typed on a Japanese keyboard", () => {
  const cases = [
    ["ａｂｃｄーｅｆｇｈ", "abcd-efgh"],
    ["ＡＢＣＤ－ＥＦＧＨ", "abcd-efgh"],
    [" abcd efgh ", "abcdefgh"],
    ["abcd—efgh", "abcd-efgh"],
    ["kanri", "kanri"],
  ];
  for (const [input, want] of cases) assert.equal(normalizeLoginId(input), want, input);
  assert.equal(normalizePassword("ＡＢＣＤーＥＦＧＨーＪＫＭＮ"), "abcd-efgh-jkmn");
  assert.equal(normalizePassword("abcd efgh jkmn"), "abcd-efgh-jkmn");
  assert.equal(normalizePassword("My own Passw0rd!"), "My own Passw0rd!");
});

test("links: https and Japanese phone numbers only", () => {
  const links = (s) => linkParts(s).filter((p) => p.href).map((p) => [p.text, p.href]);
  assert.deepEqual(links("詳しくは https://example.org/a?b=1 をどうぞ。"), [["https://example.org/a?b=1", "https://example.org/a?b=1"]]);
  assert.deepEqual(links("https://example.org/x."), [["https://example.org/x", "https://example.org/x"]]);
  assert.deepEqual(links("（https://example.org/y）"), [["https://example.org/y", "https://example.org/y"]]);
  assert.deepEqual(links("いのちの電話 0120-783-556"), [["0120-783-556", "tel:0120783556"]]);
  assert.deepEqual(links("03-1234-5678 と 090 1234 5678"), [["03-1234-5678", "tel:0312345678"], ["090 1234 5678", "tel:09012345678"]]);
  assert.deepEqual(links("+81-3-1234-5678"), [["+81-3-1234-5678", "tel:0312345678"]]);
  assert.deepEqual(links("#7119 に電話"), [["#7119", "tel:%237119"]]);
  assert.deepEqual(links("迷ったら119番へ"), [["119", "tel:119"]]);
  for (const none of ["http://example.org", "javascript:alert(1)", "2026-11-23", "予約番号 12345", "data:text/html,x", "ftp://x"]) {
    assert.deepEqual(links(none), [], none);
  }
  // Text around links is kept whole.
  assert.equal(linkParts("a https://e.org b 0120-783-556 c").map((p) => p.text).join(""), "a https://e.org b 0120-783-556 c");
});
