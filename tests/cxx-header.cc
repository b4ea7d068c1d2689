// The public header must be usable from C++ (extern "C", no C-only
// keywords in declarations): this file only includes it.
#include <axle.h>

int main() {
  return AX_VERSION_MAJOR >= 0 ? 0 : 1;
}
