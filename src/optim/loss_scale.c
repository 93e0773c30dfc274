/* loss_scale.c — dynamic loss scaling (loss_scale.h), GradScaler's update rule. */
#include "loss_scale.h"

void rt_loss_scaler_init(rt_loss_scaler *s, double init_scale) {
    s->scale = init_scale;
    s->growth_factor = 2.0;
    s->backoff_factor = 0.5;
    s->growth_interval = 2000;
    s->good_steps = 0;
}

bool rt_loss_scaler_update(rt_loss_scaler *s, bool found_inf) {
    if (found_inf) {
        s->scale *= s->backoff_factor;
        s->good_steps = 0;
        return false;
    }
    if (++s->good_steps == s->growth_interval) {
        s->scale *= s->growth_factor;
        s->good_steps = 0;
    }
    return true;
}
