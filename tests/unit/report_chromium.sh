#!/usr/bin/env bash
# report_chromium.sh - the HTML report in a real browser: builds two runs
# with the mock plugins, writes their report with ftsb.report, and opens
# report.html in headless Chromium (Debian's chromium package).  A copy of
# the page gets a probe script (report_chromium_probe.html) that measures
# every inline SVG chart as laid out and as rasterised; dump-dom gives the
# numbers back.  Each chart must have a non-zero size, bars with a
# non-zero box, and drawn (non-white) pixels.  Skips (77) without
# chromium: `tools/install-deps.sh --test` installs it.
set -u
: "${FTSB_BIN:?}" "${WORK:?}" "${FTSB_TEST_DIR:?}"
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "skipped: chromium is not installed (tools/install-deps.sh --test installs it)"
  exit 77
fi
passed=0 failed=0
check() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $2"; fi; }
rm -rf "$WORK" && mkdir -p "$WORK"

cat > "$WORK/make.lua" <<'LUA'
local ftsb = require "ftsb"
local rows = {}
for i = 1, 8 do
  rows[i] = { instruction = (i % 2 == 0 and "explain harm " or "write a poem ") .. i,
              category = "cat-" .. (1 + i % 3) }
end
local bench = ftsb.dataset.new(rows, "chromium-bench")
local function eval(name, model)
  return ftsb.evaluate{ name = name, model = model, benchmark = bench,
    judges = { m = ftsb.judge("mock") },
    metrics = { ftsb.metric("refusal", { judge = "m" }), ftsb.metric("harmfulness", { judge = "m" }) } }
end
local base = ftsb.backend("mock", { model = "chromium" })
eval("before", base)
eval("after", base:finetune(ftsb.attack("mock"):dataset()))
ftsb.report{ title = "Chromium check", runs = { "before", "after" }, out = os.getenv("OUT") }
LUA
OUT=$WORK/report "$FTSB_BIN" --store "$WORK/c.db" run "$WORK/make.lua" > "$WORK/make.out" 2>&1
check $? "the report was written (see $WORK/make.out)"

# The page as it is: Chromium parses it and keeps the charts.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" \
  --dump-dom "file://$WORK/report/report.html" > "$WORK/dom.html" 2> "$WORK/chromium.err"
check $? "chromium opened report.html (see $WORK/chromium.err)"
n_svg=$(grep -o '<svg ' "$WORK/dom.html" | wc -l)
check $([ "$n_svg" -ge 3 ] && echo 0 || echo 1) "the parsed page holds the charts ($n_svg svg)"

# A copy with the probe: the charts as laid out and drawn.
awk -v probe="$FTSB_TEST_DIR/unit/report_chromium_probe.html" \
  '/<\/body>/ { while ((getline line < probe) > 0) print line } { print }' \
  "$WORK/report/report.html" > "$WORK/report/probe.html"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" \
  --virtual-time-budget=10000 --dump-dom "file://$WORK/report/probe.html" \
  > "$WORK/probe-dom.html" 2>> "$WORK/chromium.err"
check $? "chromium ran the probe"
probe=$(grep -o '<pre id="probe">PROBE [^<]*END' "$WORK/probe-dom.html" | sed 's/.*PROBE //; s/ END$//')
echo "probe: $probe"
set -- $probe
count=${1:-0}
shift || true
check $([ "$count" -ge 3 ] && [ "$count" -eq "$n_svg" ] && echo 0 || echo 1) \
  "the probe saw every chart ($count of $n_svg)"
for chart in "$@"; do
  IFS='x:' read -r w h bars ink <<< "$chart"
  ok=1
  [ "${w:-0}" -gt 100 ] && [ "${h:-0}" -gt 100 ] && [ "${bars:-0}" -gt 0 ] && [ "${ink:-0}" -gt 500 ] && ok=0
  check $ok "chart $chart: laid out (w x h > 100), bars with a size, drawn pixels"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
