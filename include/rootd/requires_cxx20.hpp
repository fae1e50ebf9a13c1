// The first include of every rootd header: rootd uses C++20 (std::span,
// concepts, consteval, std::bit_cast), and without this check a C++17
// build fails with pages of errors inside the standard headers instead of
// saying what is wrong.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "rootd needs C++20: compile with -std=c++20 or -std=gnu++20 (meson: cpp_std=c++20)"
#endif
