# Sourced by scripts/build.sh and scripts/test-sanitizers.sh: sets `launcher` to the CMake
# option that compiles through ccache when it is installed (empty otherwise). Paths below
# the checkout are hashed relative to it, so a fresh clone in another folder reuses the
# objects an earlier clone left in the cache; a caller's own CCACHE_BASEDIR is kept.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
fi
