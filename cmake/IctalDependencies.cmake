# Dependencies come from Debian packages (see setup.sh); found through pkg-config
# where the package ships a .pc file, otherwise by header and library name.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(JACK     REQUIRED IMPORTED_TARGET jack)
pkg_check_modules(LIBLO    REQUIRED IMPORTED_TARGET liblo)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(CJSON    REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(INIH     REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(SAMPLERATE REQUIRED IMPORTED_TARGET samplerate)
if(ICTAL_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# EDFlib (Debian libedf-dev) ships no pkg-config file.
find_path(EDFLIB_INCLUDE_DIR edflib.h REQUIRED)
find_library(EDFLIB_LIBRARY NAMES edf REQUIRED)
add_library(ictal_edflib INTERFACE)
target_include_directories(ictal_edflib INTERFACE ${EDFLIB_INCLUDE_DIR})
target_link_libraries(ictal_edflib INTERFACE ${EDFLIB_LIBRARY})

find_library(MATH_LIBRARY m REQUIRED)
