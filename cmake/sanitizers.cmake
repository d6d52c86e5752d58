# LEDGER_SANITIZE and LEDGER_FUZZ: compile and link flags for the whole tree.
#
# Every finding fails: UBSan does not recover, so a test or fuzz run with undefined
# behaviour exits non-zero. Frame pointers keep the reports' stacks readable.
if(LEDGER_FUZZ AND NOT LEDGER_SANITIZE)
  set(LEDGER_SANITIZE "address,undefined")
endif()

if(LEDGER_SANITIZE)
  add_compile_options(-fsanitize=${LEDGER_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${LEDGER_SANITIZE})
  if(LEDGER_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
    add_link_options(-fno-sanitize-recover=all)
  endif()
endif()

if(LEDGER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "LEDGER_FUZZ needs clang (configure with -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  # Coverage feedback from the libraries too, not only from the fuzz targets.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
