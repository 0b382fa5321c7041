# Target-scoped warnings: call ictal_set_warnings(<target>) on every target we own.
function(ictal_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wcast-qual -Wpointer-arith -Wundef)
  if(ICTAL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
