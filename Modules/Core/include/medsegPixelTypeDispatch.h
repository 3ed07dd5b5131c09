#ifndef medsegPixelTypeDispatch_h
#define medsegPixelTypeDispatch_h

#include <limits>
#include <stdexcept>
#include <string>

namespace medseg
{

/** Carries a type through a generic lambda: `[](auto tag) { using T = typename decltype(tag)::type; }`. */
template <typename T>
struct TypeTag
{
  using type = T;
};

/** \brief Calls `f(TypeTag<T>{})` with the smallest unsigned integer type that holds `maxLabel`.
 *
 * This is the one place where MedSeg picks a label pixel type; tools never switch on it. */
template <typename TFunction>
decltype(auto)
DispatchLabelPixelType(unsigned long maxLabel, TFunction && f)
{
  if (maxLabel <= std::numeric_limits<unsigned char>::max())
  {
    return f(TypeTag<unsigned char>{});
  }
  if (maxLabel <= std::numeric_limits<unsigned short>::max())
  {
    return f(TypeTag<unsigned short>{});
  }
  if (maxLabel <= std::numeric_limits<unsigned int>::max())
  {
    return f(TypeTag<unsigned int>{});
  }
  throw std::out_of_range("label value " + std::to_string(maxLabel) + " does not fit a 32-bit label map");
}

} // namespace medseg

#endif
