#!/usr/bin/env bash
# Regenerates the SMS segment-counting test data in crates/parley-domain/tests/data/segments/
# with Twilio's own calculator (npm sms-segments-calculator@1.3.0) as the oracle.
#
#   scripts/oracles/segments.sh            # expected.jsonl from the committed corpus.jsonl
#   scripts/oracles/segments.sh --corpus   # first rebuild corpus.jsonl (deterministic, seeded)
#
# Needs node + npm with access to the npm registry. Installs into a throwaway directory.
# Afterwards: cargo test -p parley-domain --test segments_oracle
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/crates/parley-domain/tests/data/segments
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$data"

if [ "${1:-}" = "--corpus" ]; then
  node - > "$data/corpus.jsonl" <<'JS'
// Corpus of hard cases for SMS encoding/segment counting, one JSON string per line.
const out = [];
const add = (s) => out.push(s);
const r = (s, n) => s.repeat(n);
const a = (n) => r("a", n);
const zh = (n) => r("ж", n); // Cyrillic: 1 UTF-16 unit, forces UCS-2

// GSM-7 lengths around 160 / 153-per-part boundaries.
for (const n of [0, 1, 2, 70, 71, 152, 153, 154, 159, 160, 161, 305, 306, 307, 458, 459, 460, 461, 612, 613, 918, 919, 1530, 1531, 1600]) add(a(n));
add(r("0123456789", 16)); add(r("0123456789", 16) + "1");

// Extension characters (2 septets) at and around the part boundaries.
const ext = ["€", "{", "}", "[", "]", "~", "^", "|", "\\", "\f"];
for (const e of ext) { add(a(158) + e); add(a(159) + e); add(a(152) + e + a(152)); }
for (const k of [150, 151, 152, 153, 154, 158, 159, 160]) {
  add(a(k) + "€" + a(306 - k - 2)); // 306 septets in total
  add(a(k) + "€" + a(305 - k - 2));
}
for (const k of [303, 304, 305, 306, 307]) add(a(k) + "{" + a(459 - k - 2) );
add(a(152) + "€" + a(151)); add(a(151) + "€" + a(153)); add(a(153) + "€" + a(151));
add(r("€", 1)); add(r("€", 76)); add(r("€", 77)); add(r("€", 79)); add(r("€", 80)); add(r("€", 81));
add(r("€", 152)); add(r("€", 153)); add(r("€", 229)); add(r("€", 230)); add(r("€", 800));
add(r("{}", 40)); add(r("{}", 41)); add("a" + r("[]", 76)); add("a" + r("[]", 77));
add(r("\f", 80)); add(r("\f", 81)); add("page1\fpage2");

// UCS-2 lengths around 70 / 67-per-part boundaries.
for (const n of [1, 69, 70, 71, 133, 134, 135, 200, 201, 202, 268, 269, 800]) add(zh(n));
add(a(69) + "ç"); add(a(70) + "ç"); add("ç" + a(133)); add("ç" + a(134));
add(r("中", 70)); add(r("中", 71)); add(r("中文", 67));

// Surrogate pairs (emoji) at the 67-unit part boundary and the 70-unit limit.
for (const k of [64, 65, 66, 67, 68, 69]) { add(zh(k) + "😀"); add(zh(k) + "😀" + zh(134 - k - 2)); }
add(zh(66) + "😀" + zh(66)); add(zh(65) + "😀" + zh(67));
add(r("😀", 35)); add(r("😀", 36)); add(r("😀", 66)); add(r("😀", 67)); add(r("😀", 100)); add(r("😀", 400));
add("a" + r("😀", 34)); add("a" + r("😀", 35)); add("a" + r("😀", 67));
add(r("𝄞", 35)); add(r("𝄞", 36)); // non-emoji astral character

// Multi-code-point emoji (grapheme clusters) straddling the boundary.
// Each sample once, ending exactly at unit 67 (2 parts), and straddling units 67/68 in a
// 134-unit message: 3 parts if the calculator keeps it whole, 2 if it may be cut there.
const clusters = ["👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨", "🏳️‍🌈", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🇺🇸", "🇯🇵🇫🇷", "👍🏽", "🤷🏾‍♀️", "1️⃣", "❤️", "🧑‍🤝‍🧑", "🧑🏿‍💻", "👁️‍🗨️",
  "🏃🏻‍♂️‍➡️", "🤝🏻", "👦🏻", "☝🏽", "😀\uFE0F", "\u200D😀", "a\u200D", "e\u0301", "e\u0301\u0302\u0303", "कि", "क्ष", "स्ते", "ि", "बِ",
  "\u0600\u0628", "ที่", "שָׁ", "\u1100\u1161\u11A8", "\uAC00\u11A8", "\uAC01\u11A8", "\uAC00\u1161", "\uAC01\u1161", "\u1100\uAC00", "\r\u0301"];
for (const c of clusters) {
  const L = c.length;
  add(c); add(zh(67 - L) + c + zh(67)); add(zh(68 - L) + c + zh(66)); add(zh(66) + c + zh(68 - L));
  const n = Math.floor(134 / L); add(r(c, n) + zh(134 - n * L));
}
add(r("🇺🇸", 17)); add(r("🇺🇸", 18)); add(r("🇺🇸", 40)); add("a" + r("🇺🇸", 40)); add(r("🇦", 35)); add(r("🇦", 41));
add(r("👍🏽", 17)); add(r("👍🏽", 18)); add(r("👨‍👩‍👧‍👦", 12)); add(r("👨‍👩‍👧‍👦", 13)); add(r("👨‍👩‍👧‍👦", 30));

// Combining marks: never GSM-7, and a letter with its marks is one cluster.
add("e\u0301"); add("Cafe\u0301"); add(a(69) + "e\u0301"); add(a(65) + "e\u0301\u0302\u0303" + a(70));
add(zh(66) + "e\u0301" + zh(70)); add(zh(65) + "e\u0301" + zh(70));
add("Z" + r("\u0301", 75)); add(a(10) + "Z" + r("\u0301", 75) + a(10)); add(r("Z\u0336\u0301\u0352", 40));
add("a\u20DD b\u20E3");

// Scripts.
const arabic = "مرحبا، كيف حالك اليوم؟ هذه رسالة تجريبية طويلة بعض الشيء. ";
const arabicHarakat = "السَّلَامُ عَلَيْكُمْ وَرَحْمَةُ اللهِ وَبَرَكَاتُهُ ";
const chinese = "你好，这是一条测试短信。请回复确认您的预约时间。";
const cyrillic = "Привет! Ваш код подтверждения: 123456. Никому его не сообщайте. ";
const hindi = "नमस्ते, आपका सत्यापन कोड है। कृपया इसे किसी के साथ साझा न करें। ";
const thai = "สวัสดีครับ นี่คือข้อความทดสอบ กรุณาตอบกลับ ";
const korean = "안녕하세요. 예약이 확인되었습니다. 감사합니다. ";
const hebrew = "שָׁלוֹם עוֹלָם, זוהי הודעת בדיקה. ";
for (const s of [arabic, arabicHarakat, chinese, cyrillic, hindi, thai, korean, hebrew]) { add(s); add(r(s, 3)); add(r(s, 10)); }
add(r("कि", 67)); add("ab" + r("\u1100\u1161\u11A8", 44)); add(r("🇦", 67)); add(r("🇦", 66) + "ab");
add(zh(66) + "\u1100\u1161\u11A8" + zh(70)); add(zh(65) + "\u1100\u1161\u11A8" + zh(70)); add(r("\u1100\u1161\u11A8", 30));
add("ΔΦΓΛΩΠΨΣΘΞ"); add(r("ΔΦΓΛΩΠΨΣΘΞ", 16)); add(r("ΔΦΓΛΩΠΨΣΘΞ", 16) + "Δ");
add("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"); add("αβγδε"); add("Ελλάδα"); add("Ωmega ΣIGMA");
add("Straße Müller Øresund Åsa Æble Ñandú ¿Qué? ¡Sí! £5 ¥9 §3 ¤ à è é ì ò ù ä ö ü");

// Characters that look GSM but are not, and GSM oddities.
add("Ç"); add("ç"); add("Ça va"); add("ça va"); add(a(159) + "Ç"); add(a(160) + "Ç"); add(a(159) + "ç");
add("tab\there"); add("\t"); add(a(160) + "\t");
add("non\u00A0breaking"); add("“smart quotes”"); add("‘single’"); add("it’s"); add("em—dash en–dash"); add("ellipsis…");
add("`backtick`"); add("@£$¥èéùìòÇØøÅå"); add("Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./"); add("0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà");
add("\u001B"); add("\u0000"); add("\u007F"); add("\u00AD"); add("zero\u200Bwidth"); add("\uFEFFbom"); add("a\u200Db");
add("°C"); add("½"); add("©®™"); add("₹100"); add("₽"); add("¢"); add("µ"); add("×÷");

// Line breaks: CRLF stays GSM-7 (the calculator splits the CR LF cluster back up).
add("line1\r\nline2"); add("line1\nline2"); add("line1\rline2"); add("\r\n"); add(r("\r\n", 80)); add(r("\r\n", 81));
add(a(159) + "\r\n"); add(a(158) + "\r\n"); add(r("ab\r\n", 40)); add(zh(69) + "\r\n"); add(zh(68) + "\r\n"); add("ж\r\nж");

// Realistic messages and the 1600-character maximum.
add("Your Parley verification code is 482913. It expires in 10 minutes.");
add("Hi Anna, your appointment is confirmed for Tue 14:30. Reply STOP to opt out.");
add("Reminder: invoice #1042 ({total} €) is due 2024-06-01 [ref ~A|B^C].");
add("Thanks! 🙏 See you soon 😊");
add(r("Hello world! ", 123) + "Hi!"); add(r("Hello [world]! ", 100) + "ok"); add(r("Привет мир! ", 133) + "ок");
add(r("😀ab", 400)); add(r("€", 800)); add(r("a€", 533) + "a");

// Seeded random strings (mulberry32): GSM-heavy and mixed.
let seed = 20240601;
const rnd = () => { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const gsm = [..."@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà", "€", "{", "}", "[", "]", "~", "^", "|", "\\", "\f", "\r\n"];
const other = ["ç", "\t", "\u00A0", "’", "“", "ж", "中", "😀", "👍🏽", "🇺🇸", "e\u0301", "👨‍👩‍👧", "ह", "ि", "ا", "ً", "한", "𝄞", "‍", "️", "…"];
for (let i = 0; i < 50; i++) { let s = ""; const n = Math.floor(rnd() * 700); for (let j = 0; j < n; j++) s += pick(gsm); add(s); }
for (let i = 0; i < 50; i++) { let s = ""; const n = Math.floor(rnd() * 400); const p = rnd(); for (let j = 0; j < n; j++) s += rnd() < p ? pick(other) : pick(gsm); add(s); }

// Probe of the character table: each character 81 times separates GSM-7 basic (1 part),
// GSM-7 extension (162 septets: 2 parts) and UCS-2 (81 units: 2 parts, other encoding).
const probe = [];
for (let c = 0; c <= 0x17f; c++) probe.push(c);
for (let c = 0x391; c <= 0x3c9; c++) probe.push(c);
for (let c = 0x2010; c <= 0x2030; c++) probe.push(c);
probe.push(0x20ac, 0x20ad, 0x20a4, 0x2122, 0xfeff, 0xfffd);
for (const c of probe) add(r(String.fromCharCode(c), 81));

for (const s of out) console.log(JSON.stringify(s));
JS
fi

cd "$tmp"
# grapheme-splitter is the calculator's own dependency, pinned since it decides clusters.
npm install --no-audit --no-fund --silent sms-segments-calculator@1.3.0 grapheme-splitter@1.0.4 >/dev/null
node -e 'const {SegmentedMessage:S}=require("sms-segments-calculator");const t=require("fs").readFileSync(0,"utf8").split("\n").filter(Boolean);for(const x of t){const m=new S(JSON.parse(x));console.log(JSON.stringify({text:JSON.parse(x),enc:m.encodingName,segs:m.segmentsCount}))}' \
  < "$data/corpus.jsonl" > "$data/expected.jsonl"
echo "wrote $(wc -l < "$data/expected.jsonl") cases to $data/expected.jsonl"
