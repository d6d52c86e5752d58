# LEDGER_SANITIZE and LEDGER_FUZZ: compile and link flags for the whole tree.
#
# Every finding fails: UBSan does not recover, so a test or fuzz run with undefined
# behaviour exits non-zero; ThreadSanitizer exits non-zero after a report (with
# halt_on_error=1, at the first one). Frame pointers keep the reports' stacks readable;
# -g1 (line tables only) still gives every frame its function, file and line, and compiles
# and links far faster than the full debug info of RelWithDebInfo's -g, which it overrides.
#
# With "thread", LEDGER_SYNC_FOR_TSAN makes ledger/sync.h's lock types pthread-based ones
# that ThreadSanitizer sees: Debian's Abseil is not built with it, so absl::Mutex is
# invisible to it (docs/reliability.md).
if(LEDGER_FUZZ AND NOT LEDGER_SANITIZE)
  set(LEDGER_SANITIZE "address,undefined")
endif()

if(LEDGER_SANITIZE)
  add_compile_options(-fsanitize=${LEDGER_SANITIZE} -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=${LEDGER_SANITIZE})
  if(LEDGER_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
    add_link_options(-fno-sanitize-recover=all)
  endif()
  if(LEDGER_SANITIZE MATCHES "thread")
    add_compile_definitions(LEDGER_SYNC_FOR_TSAN)
  endif()
endif()

if(LEDGER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "LEDGER_FUZZ needs clang (configure with -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  # Coverage feedback from the libraries too, not only from the fuzz targets.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
