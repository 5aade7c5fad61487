# pip's build isolation installs the build requirements (pybind11, scipy-openblas32) into a fresh
# temporary prefix on every `pip install`, so their include paths, and with them every compile
# command, change from one install to the next: ninja then rebuilds everything although no
# source changed. chaingrad_stable_includes() copies an imported target's headers into the build
# tree (rewritten only when their content changes) and points the target there, so the compile
# commands stay the same and a second install reuses the first one's objects.
function(chaingrad_stable_includes target name)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT dirs)
    return()
  endif()
  set(dest "${CMAKE_BINARY_DIR}/stable-include/${name}")
  set(stable_dirs "")
  set(i 0)
  foreach(dir IN LISTS dirs)
    if(dir MATCHES "^\\$<" OR NOT IS_DIRECTORY "${dir}")
      list(APPEND stable_dirs "${dir}")  # generator expressions and missing dirs pass through
      continue()
    endif()
    file(GLOB_RECURSE headers RELATIVE "${dir}" "${dir}/*.h" "${dir}/*.hpp" "${dir}/*.hh")
    foreach(h IN LISTS headers)
      # configure_file leaves the copy (and its timestamp) alone when the content is unchanged.
      configure_file("${dir}/${h}" "${dest}/${i}/${h}" COPYONLY)
    endforeach()
    list(APPEND stable_dirs "${dest}/${i}")
    math(EXPR i "${i} + 1")
  endforeach()
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${stable_dirs}")
endfunction()
