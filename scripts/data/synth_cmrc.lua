-- synth_cmrc.lua — a small CMRC 2018 style reading-comprehension set the project
-- builds itself: short biographies generated from slots (person, birth year and
-- place, school, city, employer, job, hobby, prize) in a Chinese template with
-- sentence order and fillers varying, and one question per slot type asked in one
-- of several phrasings; the answer is the slot's text, answer_start its character
-- offset. SQuAD v1.1 JSON (data -> paragraphs -> context, qas). Deterministic for
-- a seed; train and dev draw from the same slot lists in new combinations.
--
--   retort scripts/data/synth_cmrc.lua OUT_DIR [n_train=300] [n_dev=60] [seed=1]
--   local S = dofile("scripts/data/synth_cmrc.lua"); S.write(dir, {n_train = 100})
local S = {}

local SURN = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭" }
local GIVEN = { "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "建国", "志强", "海燕", "晓东" }
local PLACE = { "北京", "上海", "广州", "深圳", "天津", "重庆", "南京", "杭州", "武汉", "成都", "西安", "长沙", "青岛", "厦门", "苏州", "郑州" }
local SCHOOL = { "师范大学", "理工大学", "医科大学", "农业大学", "外国语学院", "音乐学院", "美术学院", "交通大学" }
local COMPANY = { "电力公司", "钢铁集团", "出版社", "电视台", "银行", "人民医院", "研究所", "汽车厂" }
local JOB = { "工程师", "医生", "教师", "记者", "会计", "律师", "编辑", "设计师" }
local HOBBY = { "下围棋", "游泳", "画画", "弹钢琴", "爬山", "摄影", "读诗", "打乒乓球" }
local PRIZE = { "劳动模范称号", "科技进步奖", "优秀教师奖", "新闻奖", "青年奖章", "金质奖章" }

local Q = {
  year = { "{P}出生于哪一年？", "{P}是哪一年出生的？", "{P}的出生年份是什么？" },
  place = { "{P}出生在哪里？", "{P}是哪里人？" },
  school = { "{P}在哪所学校学习？", "{P}毕业于哪所学校？" },
  company = { "{P}在哪个单位工作？", "{P}的工作单位是什么？" },
  job = { "{P}的职业是什么？", "{P}担任什么职务？" },
  hobby = { "{P}喜欢什么？", "{P}的爱好是什么？" },
  prize = { "{P}获得过什么荣誉？", "{P}得到了什么奖励？" },
}
local KINDS = { "year", "place", "school", "company", "job", "hobby", "prize" }

local function rng(seed)
  local s = (seed * 2654435761 + 12345) % 2147483648
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return (s // 65536) % n + 1
  end
end

local function clen(s) return utf8.len(s) end

--- S.example(r, k) -> {context=, qas={{id=, question=, answers={{text=, answer_start=}}}}}
function S.example(r, k)
  local per = SURN[r(#SURN)] .. GIVEN[r(#GIVEN)]
  local v = {
    year = tostring(1950 + r(60)) .. "年", place = PLACE[r(#PLACE)],
    school = PLACE[r(#PLACE)] .. SCHOOL[r(#SCHOOL)], company = PLACE[r(#PLACE)] .. COMPANY[r(#COMPANY)],
    job = JOB[r(#JOB)], hobby = HOBBY[r(#HOBBY)], prize = PRIZE[r(#PRIZE)],
  }
  local parts = {
    { "{P}于", "year", "出生在", "place", "。" },
    { "他早年在", "school", "学习，", "成绩优秀。" },
    { "毕业后进入", "company", "，成为一名", "job", "。" },
    { "业余时间", "{P}喜欢", "hobby", "，", "曾获得", "prize", "。" },
  }
  if r(2) == 1 then parts[3], parts[4] = parts[4], parts[3] end
  local ctx, starts = "", {}
  for _, p in ipairs(parts) do
    for _, x in ipairs(p) do
      if v[x] then starts[x] = clen(ctx); ctx = ctx .. v[x]
      else ctx = ctx .. x:gsub("{P}", per) end
    end
  end
  local qas = {}
  for qi, kind in ipairs(KINDS) do
    local qt = Q[kind][r(#Q[kind])]:gsub("{P}", per)
    qas[#qas + 1] = { id = string.format("SYN_%d_QUERY_%d", k, qi - 1), question = qt,
                      answers = { { text = v[kind], answer_start = starts[kind] } } }
  end
  return { context = ctx, qas = qas, id = "SYN_" .. k }
end

--- S.dataset(n, r, first) -> SQuAD JSON table with n paragraphs
function S.dataset(n, r, first)
  local paras = {}
  for i = 1, n do paras[i] = S.example(r, (first or 0) + i) end
  return { version = "v1.0", data = { { title = "synthetic", paragraphs = paras } } }
end

local function write(path, t)
  local f = assert(io.open(path, "w"))
  f:write(require("retort").log.json_encode(t), "\n")
  f:close()
end

--- S.write(dir, {n_train=300, n_dev=60, seed=1}) -> dir (train.json, dev.json)
function S.write(dir, o)
  o = o or {}
  local r = rng(o.seed or 1)
  os.execute("mkdir -p '" .. dir .. "'")
  write(dir .. "/train.json", S.dataset(o.n_train or 300, r, 0))
  write(dir .. "/dev.json", S.dataset(o.n_dev or 60, r, 100000))
  return dir
end

--- S.vocab() -> special tokens, every character used, digits and ## digit pieces
function S.vocab()
  local v = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
  local seen = {}
  local function add(s)
    for _, c in utf8.codes(s) do
      local ch = utf8.char(c)
      if not seen[ch] then seen[ch] = true; v[#v + 1] = ch end
    end
  end
  for _, l in ipairs({ SURN, GIVEN, PLACE, SCHOOL, COMPANY, JOB, HOBBY, PRIZE }) do for _, s in ipairs(l) do add(s) end end
  for _, l in pairs(Q) do for _, s in ipairs(l) do add(s) end end
  add("于年出生在。他早年学习，成绩优秀毕业后进入为一名业余时间喜欢曾获得0123456789")
  for d = 0, 9 do v[#v + 1] = "##" .. d end
  return v
end

local args = { ... }
if arg and arg[0] and arg[0]:find("synth_cmrc.lua", 1, true) and #args >= 1 and type(args[1]) == "string" then
  S.write(args[1], { n_train = tonumber(args[2]), n_dev = tonumber(args[3]), seed = tonumber(args[4]) })
  print("synth_cmrc: wrote " .. args[1] .. "/{train,dev}.json")
end
return S
