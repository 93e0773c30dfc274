-- retort.pretrain (rt.pretrain): the pretraining-data pipelines the recipes call.
--   rt.pretrain.create{...}       NEZHA/BERT create_pretraining_data -> TFRecords / shards
--                                 (lua/retort/pretrain/create.lua)
--   rt.pretrain.pregenerate{...}  TinyBERT pregenerate_training_data -> epoch_{k}.json
--                                 (lua/retort/pretrain/pregenerate.lua)
-- Each sub-module returns a table whose run(opts) does the work; it is loaded on
-- first use.
local M = {}

--- rt.pretrain.create(opts) -> summary: BERT/NEZHA pretraining instances (see retort.pretrain.create).
function M.create(opts) return require("retort.pretrain.create").run(opts) end

--- rt.pretrain.pregenerate(opts) -> summary: TinyBERT pregenerated epochs (see retort.pretrain.pregenerate).
function M.pregenerate(opts) return require("retort.pretrain.pregenerate").run(opts) end

return M
