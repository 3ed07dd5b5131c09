// Forced into every file of the fuzz build (-include): Debian's ITK 5.2 headers were generated
// for GCC alone (itk_compiler_detection.h stops with "Unsupported compiler" under clang, and
// clang's __GNUC__ is 4.2). This stands in for that header, with what a C++17 compiler has.
#ifndef ITK_COMPILER_DETECTION_H
#define ITK_COMPILER_DETECTION_H
#ifdef __cplusplus
#  define ITK_COMPILER_IS_GNU 0
#  define ITK_COMPILER_IS_Clang 1
#  define ITK_COMPILER_IS_AppleClang 0
#  define ITK_COMPILER_IS_MSVC 0
#  define ITK_COMPILER_VERSION_MAJOR (__clang_major__)
#  define ITK_COMPILER_VERSION_MINOR (__clang_minor__)
#  define ITK_COMPILER_VERSION_PATCH (__clang_patchlevel__)
#  define ITK_COMPILER_CXX_STATIC_ASSERT 1
#  define ITK_ALIGNAS(X) alignas(X)
#  define ITK_ALIGNOF(X) alignof(X)
#  define ITK_DEPRECATED [[deprecated]]
#  define ITK_DEPRECATED_MSG(MSG) [[deprecated(MSG)]]
#  define ITK_CONSTEXPR constexpr
#  define ITK_DELETED_FUNCTION = delete
#  define ITK_EXTERN_TEMPLATE extern
#  define ITK_FINAL final
#  define ITK_NOEXCEPT noexcept
#  define ITK_NOEXCEPT_EXPR(X) noexcept(X)
#  define ITK_NULLPTR nullptr
#  define ITK_OVERRIDE override
#  define ITK_STATIC_ASSERT(X) static_assert(X, #X)
#  define ITK_STATIC_ASSERT_MSG(X, MSG) static_assert(X, MSG)
#  define ITK_THREAD_LOCAL thread_local
#endif
#endif
