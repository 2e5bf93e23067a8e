// Envelope framing for the sleepenv bed sensor (ESPHome `includes:`).
//
// Samples arrive at >= 50 Hz. Each is high-passed (a slow trailing mean is subtracted,
// which removes gravity or the piezo bias but keeps breathing, heartbeat and
// movement); the magnitude of what remains is summarised per 100 ms wall-clock slot as
// its RMS and its peak. For an accelerometer each axis is high-passed before taking
// the magnitude: the magnitude of the raw vector barely moves when the bed moves
// sideways to gravity. Ten slots make one JSON frame a second:
//   {"t":1763790000.1,"hz":10,"rms":[...10],"peak":[...10],"gravity":[gx,gy,gz]}
// `t` is the Unix time of the first slot; `gravity` (in g, low-passed axes) only for
// accelerometers, whose rms and peak are in g too. A gap (a slot with no sample) ends the frame early, so the service
// sees the gap from `t` and the array length instead of a silently stretched frame.
//
// Plain C++ with no ESPHome types, so tests/esphome compiles and exercises it on the
// host with synthetic signals.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace bed_envelope {

constexpr int kSlotMs = 100;
constexpr int kSlotsPerFrame = 10;
// 2 s trailing mean: a high-pass near 0.08 Hz, below breathing (0.1-0.5 Hz).
constexpr float kHighPassTauS = 2.0f;
// Gravity changes only with posture; 1 s smooths out movement.
constexpr float kGravityTauS = 1.0f;
// ESPHome reports acceleration in m/s^2; sleepenv's frames carry g.
constexpr float kStandardGravity = 9.80665f;

// First-order low-pass on an irregular sample clock.
class LowPass {
 public:
  explicit LowPass(float tau_s) : tau_s_(tau_s) {}
  float update(float x, float dt_s) {
    if (!primed_) {
      // Start from the first value so there is no start-up transient.
      y_ = x;
      primed_ = true;
    } else {
      y_ += (x - y_) * (dt_s / (tau_s_ + dt_s));
    }
    return y_;
  }
  float value() const { return y_; }
  void reset() { primed_ = false; }

 private:
  float tau_s_;
  float y_ = 0.0f;
  bool primed_ = false;
};

class Framer {
 public:
  // One accelerometer sample (m/s^2) at `now_ms` (Unix ms). True when frame() is ready.
  bool add_accel(float ax, float ay, float az, int64_t now_ms) {
    if (!std::isfinite(ax) || !std::isfinite(ay) || !std::isfinite(az)) return false;
    ax /= kStandardGravity;
    ay /= kStandardGravity;
    az /= kStandardGravity;
    const float dt = step_(now_ms);
    gx_.update(ax, dt);
    gy_.update(ay, dt);
    gz_.update(az, dt);
    has_gravity_ = true;
    const float hx = ax - mean_x_.update(ax, dt);
    const float hy = ay - mean_y_.update(ay, dt);
    const float hz = az - mean_.update(az, dt);
    return add_high_passed_(std::sqrt(hx * hx + hy * hy + hz * hz), now_ms);
  }

  // One scalar sample (e.g. piezo volts) at `now_ms`. True when frame() is ready.
  bool add_value(float v, int64_t now_ms) {
    if (!std::isfinite(v)) return false;
    return add_high_passed_(std::fabs(v - mean_.update(v, step_(now_ms))), now_ms);
  }

  // The last completed frame as JSON.
  const std::string &frame() const { return frame_; }
  // Samples per second in the last completed frame (to check the >= 50 Hz promise).
  float sample_rate_hz() const { return rate_hz_; }

 private:
  float step_(int64_t now_ms) {
    float dt = last_ms_ < 0 ? 0.0f : (now_ms - last_ms_) / 1000.0f;
    last_ms_ = now_ms;
    return dt < 0.0f ? 0.0f : dt;
  }

  // `hp`: the magnitude of the high-passed sample (>= 0).
  bool add_high_passed_(float hp, int64_t now_ms) {
    const int64_t slot = now_ms / kSlotMs;
    bool ready = false;
    if (slot < slot_) {
      // The clock stepped back (SNTP correction): drop the partial frame.
      n_slots_ = 0;
      count_ = 0;
      samples_in_frame_ = 0;
    } else if (slot > slot_ && slot_ >= 0 && count_ > 0) {
      close_slot_();
      // A skipped slot or a full frame ends the frame.
      if (slot != slot_ + 1 || n_slots_ == kSlotsPerFrame) ready = emit_();
    }
    if (slot != slot_) {
      if (n_slots_ == 0) first_slot_ = slot;
      slot_ = slot;
      count_ = 0;
      sum_sq_ = 0.0;
      peak_ = 0.0f;
    }
    count_++;
    samples_in_frame_++;
    sum_sq_ += static_cast<double>(hp) * hp;
    peak_ = std::fmax(peak_, hp);
    return ready;
  }

  void close_slot_() {
    rms_[n_slots_] = static_cast<float>(std::sqrt(sum_sq_ / count_));
    peak_slots_[n_slots_] = peak_;
    n_slots_++;
  }

  bool emit_() {
    char buf[48];
    // Integer arithmetic for t: a float would lose the tenths at today's Unix times.
    std::snprintf(buf, sizeof buf, "{\"t\":%lld.%d,\"hz\":10,", (long long) (first_slot_ / 10),
                  (int) (first_slot_ % 10));
    frame_ = buf;
    append_array_("rms", rms_);
    frame_ += ',';
    append_array_("peak", peak_slots_);
    if (has_gravity_) {
      std::snprintf(buf, sizeof buf, ",\"gravity\":[%.4f,%.4f,%.4f]", gx_.value(), gy_.value(),
                    gz_.value());
      frame_ += buf;
    }
    frame_ += '}';
    // The sample that triggered this belongs to the next frame.
    rate_hz_ = samples_in_frame_ / (n_slots_ * kSlotMs / 1000.0f);
    samples_in_frame_ = 0;
    n_slots_ = 0;
    return true;
  }

  void append_array_(const char *name, const float *values) {
    char buf[24];
    frame_ += '"';
    frame_ += name;
    frame_ += "\":[";
    for (int i = 0; i < n_slots_; i++) {
      // 5 decimals: a still bed's accelerometer RMS is around 1e-3 g.
      std::snprintf(buf, sizeof buf, i ? ",%.5f" : "%.5f", values[i]);
      frame_ += buf;
    }
    frame_ += ']';
  }

  LowPass mean_{kHighPassTauS};  // z axis, or the scalar signal
  LowPass mean_x_{kHighPassTauS}, mean_y_{kHighPassTauS};
  LowPass gx_{kGravityTauS}, gy_{kGravityTauS}, gz_{kGravityTauS};
  bool has_gravity_ = false;
  int64_t last_ms_ = -1;
  int64_t slot_ = -1;
  int64_t first_slot_ = 0;
  int count_ = 0;
  int samples_in_frame_ = 0;
  double sum_sq_ = 0.0;
  float peak_ = 0.0f;
  int n_slots_ = 0;
  float rms_[kSlotsPerFrame] = {};
  float peak_slots_[kSlotsPerFrame] = {};
  float rate_hz_ = 0.0f;
  std::string frame_;
};

// The one framer of this node, shared by the sampling lambda and the diagnostics.
inline Framer &framer() {
  static Framer instance;
  return instance;
}

}  // namespace bed_envelope
