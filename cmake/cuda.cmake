# cuda.cmake - the CUDA backend (src/backend/cuda/): cuBLASLt matmuls and our own kernels.
#
# zeroclip_cuda_host (plain C++: launch shapes, bf16 conversion; always built, so that the tests
# check them without a GPU), zeroclip_cuda (the backend, when CUDA is enabled; it links
# zeroclip_cuda_host and never the core library), and the module libzeroclip-cuda.so
# (zeroclip_cuda_module) around it, which the core loads with dlopen only when a command asks
# for CUDA (src/backend/backend_module.h): CPU-only processes never map cuBLASLt (~0.2 s and
# ~200 MB at start-up). The module is self-contained (-Wl,--no-undefined) and exports one symbol.
# It is written beside the programs in the build tree, copied into build/python/zeroclip for the
# Python module, and installed to lib/zeroclip (the core looks in ../lib/zeroclip from bin/).
#
# ZEROCLIP_CUDA=AUTO builds it when a CUDA compiler is found, ON requires one, OFF never builds it.
# The runtime is linked statically, so a CUDA build still starts on a machine without a driver or
# GPU: cudaGetDeviceCount then reports an error and `--device auto` runs on the CPU.

set(ZEROCLIP_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO (when nvcc is found), ON or OFF")
set_property(CACHE ZEROCLIP_CUDA PROPERTY STRINGS AUTO ON OFF)

file(GLOB ZEROCLIP_CUDA_HOST_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/backend/cuda/*.cpp)
list(FILTER ZEROCLIP_CUDA_HOST_SOURCES EXCLUDE REGEX "/cuda_module\\.cpp$")  # the module's entry point
add_library(zeroclip_cuda_host STATIC ${ZEROCLIP_CUDA_HOST_SOURCES})
target_include_directories(zeroclip_cuda_host PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
set_target_properties(zeroclip_cuda_host PROPERTIES POSITION_INDEPENDENT_CODE ON)

# The core's module loader (src/backend/backend_module.cpp) calls dlopen/dladdr, in every build.
target_link_libraries(zeroclip PRIVATE ${CMAKE_DL_LIBS})

set(ZEROCLIP_CUDA_ENABLED OFF)
if(NOT ZEROCLIP_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(ZEROCLIP_CUDA_ENABLED ON)
  elseif(ZEROCLIP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ZEROCLIP_CUDA=ON but no CUDA compiler was found (set CUDACXX or CMAKE_CUDA_COMPILER)")
  endif()
endif()

if(ZEROCLIP_CUDA_ENABLED)
  # Hopper by default; e.g. -DCMAKE_CUDA_ARCHITECTURES="80;90" adds Ampere.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  # The library's headers are C++20; CMake 3.25 does not know nvcc's flag for it (nvcc 12+ has it).
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)

  file(GLOB ZEROCLIP_CUDA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/backend/cuda/*.cu)
  add_library(zeroclip_cuda STATIC ${ZEROCLIP_CUDA_SOURCES})
  # The directory's host flags (-march=native, -ffp-contract=off) are not nvcc flags.
  set_property(TARGET zeroclip_cuda PROPERTY COMPILE_OPTIONS "")
  target_compile_options(zeroclip_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  target_include_directories(zeroclip_cuda PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  set_target_properties(zeroclip_cuda PROPERTIES POSITION_INDEPENDENT_CODE ON CUDA_RUNTIME_LIBRARY Static)
  target_link_libraries(zeroclip_cuda PUBLIC CUDA::cublasLt CUDA::cudart_static PRIVATE zeroclip_cuda_host)

  # The module: the backend, the CUDA runtime (static) and cuBLASLt (dynamic), nothing of the core.
  add_library(zeroclip_cuda_module MODULE ${PROJECT_SOURCE_DIR}/src/backend/cuda/cuda_module.cpp)
  set_target_properties(zeroclip_cuda_module PROPERTIES
    OUTPUT_NAME zeroclip-cuda PREFIX lib LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}
    CXX_VISIBILITY_PRESET hidden CUDA_RUNTIME_LIBRARY Static)
  target_include_directories(zeroclip_cuda_module PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_definitions(zeroclip_cuda_module PRIVATE ZEROCLIP_VERSION="${PROJECT_VERSION}")
  target_link_libraries(zeroclip_cuda_module PRIVATE zeroclip_cuda)
  target_link_options(zeroclip_cuda_module PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL)
  if(ZEROCLIP_PYTHON)
    add_custom_command(TARGET zeroclip_cuda_module POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/python/zeroclip
      COMMAND ${CMAKE_COMMAND} -E copy_if_different $<TARGET_FILE:zeroclip_cuda_module> ${PROJECT_BINARY_DIR}/python/zeroclip/
      VERBATIM)
  endif()
  install(TARGETS zeroclip_cuda_module LIBRARY DESTINATION lib/zeroclip)

  # Whatever links the core gets the module built beside it; the core only dlopens it.
  add_dependencies(zeroclip zeroclip_cuda_module)
  target_compile_definitions(zeroclip PUBLIC ZEROCLIP_HAVE_CUDA)
  message(STATUS "zeroclip: CUDA backend ON (architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "zeroclip: CUDA backend OFF")
endif()
