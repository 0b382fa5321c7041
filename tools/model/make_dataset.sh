#!/bin/sh
# make_dataset.sh — the simulated training / validation / test patients of the
# shipped model (docs/training.md). Patient-wise split: every patient's files
# lie in exactly one of train/, val/, test/.
#
#   tools/model/make_dataset.sh SYNTH OUTDIR [small]
#
# SYNTH is the ictal-synth binary, OUTDIR e.g. out/data (git-ignored).
# `small` writes a few minutes per split (for a smoke run of the pipeline).
# Deterministic: the same ictal-synth gives byte-identical files.
#
#   split  patients      files x length  seizures/file  artifacts/min  montage
#   train  101..140 (40) 2 x 1 h         3              2              chbmit; referential for 104,108,..
#   val    201..210 (10) 2 x 1 h         2              1              chbmit; referential for 204,208
#   test   301..312 (12) 3 x 1 h         1              1              chbmit; referential for 304,308,312
set -eu
SYNTH=${1:?usage: make_dataset.sh SYNTH OUTDIR [small]}
OUT=${2:?usage: make_dataset.sh SYNTH OUTDIR [small]}
SMALL=${3:-}

gen() { # split first last files duration seizures artifacts
    split=$1; p=$2; last=$3
    while [ "$p" -le "$last" ]; do
        montage=chbmit
        mkdir -p "$OUT/$split"
        [ $((p % 4)) -eq 0 ] && montage=referential
        "$SYNTH" --dataset "$OUT/$split/syn$p" --patient "$p" --seed $((p * 100)) \
            --files "$4" --duration "$5" --seizures "$6" --artifacts "$7" \
            --montage "$montage" --quiet
        p=$((p + 1))
    done
}

if [ "$SMALL" = small ]; then
    gen train 101 104 1 10m 2 2
    gen val 201 202 1 10m 1 1
    gen test 301 302 1 10m 1 1
else
    gen train 101 140 2 1h 3 2
    gen val 201 210 2 1h 2 1
    gen test 301 312 3 1h 1 1
fi
echo "make_dataset: $(find "$OUT" -name '*.edf' | wc -l) recordings in $OUT"
