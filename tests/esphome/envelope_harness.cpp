// Host harness for config/esphome/bed_envelope.h: reads samples from stdin, one per
// line ("<unix ms> <ax> <ay> <az>" or "<unix ms> <value>"), and prints every completed
// frame on its own line, followed by "rate <Hz>".
#include <iostream>
#include <sstream>
#include <string>

#include "bed_envelope.h"

int main() {
  bed_envelope::Framer framer;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    long long ms;
    float a, b, c;
    in >> ms >> a;
    bool ready = (in >> b >> c) ? framer.add_accel(a, b, c, ms) : framer.add_value(a, ms);
    if (ready) std::cout << framer.frame() << "\nrate " << framer.sample_rate_hz() << "\n";
  }
  return 0;
}
