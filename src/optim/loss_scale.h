/* loss_scale.h — dynamic loss scaling for mixed-precision training, with the
 * rule of PyTorch's torch.cuda.amp.GradScaler (1.13): the loss is multiplied by
 * `scale` before backward; after it, a step whose gradients hold a NaN/Inf is
 * skipped and the scale backs off, and after growth_interval good steps in a row
 * the scale grows. Gradients are unscaled with grad_scale = 1/scale (the
 * grad_scale field of rt_adam_hp in update.h). */
#ifndef RT_OPTIM_LOSS_SCALE_H
#define RT_OPTIM_LOSS_SCALE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double scale;            /* current loss multiplier */
    double growth_factor;    /* x this after growth_interval good steps (2.0) */
    double backoff_factor;   /* x this after a step with non-finite gradients (0.5) */
    int64_t growth_interval; /* good steps needed to grow (2000) */
    int64_t good_steps;      /* good steps since the last growth or backoff */
} rt_loss_scaler;

/* GradScaler's defaults with the given initial scale (PyTorch: 65536). */
void rt_loss_scaler_init(rt_loss_scaler *s, double init_scale);
/* Record one step: found_inf says whether any gradient was non-finite (e.g.
 * rt_k_nonfinite > 0). Returns true when the optimizer step should be applied,
 * false when it must be skipped; updates the scale either way. */
bool rt_loss_scaler_update(rt_loss_scaler *s, bool found_inf);

#endif
