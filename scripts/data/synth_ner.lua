-- synth_ner.lua — a small People's Daily style NER set the project builds itself:
-- names, places and organisations from a gazetteer are put into Chinese template
-- sentences; one "char label" line per character (BIO: PER, LOC, ORG), a blank
-- line after each sentence (every sentence ends with "。", so both sentence rules
-- give the same sentences). Deterministic for a seed; dev/test draw new
-- combinations (a person is surname + given name, an organisation place + word +
-- kind), so most dev entities never occur in train as a whole.
--
--   retort scripts/data/synth_ner.lua OUT_DIR [n_train=400] [n_dev=100] [n_test=100] [seed=1]
--   local S = dofile("scripts/data/synth_ner.lua"); S.write(dir, {n_train = 200})
local S = {}

local SURN = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗" }
local GIVEN = { "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "华", "平", "建国",
                "志强", "海燕", "晓东", "文博", "子涵" }
local PLACE = { "北京", "上海", "广州", "深圳", "天津", "重庆", "南京", "杭州", "武汉", "成都", "西安", "长沙", "沈阳", "青岛", "厦门",
                "昆明", "大连", "苏州", "郑州", "济南", "福州", "合肥", "南昌", "贵阳", "兰州", "太原", "石家庄", "哈尔滨", "乌鲁木齐", "呼和浩特" }
local ORGP = { "人民", "光明", "新华", "长江", "黄河", "东方", "华夏", "中天", "星海", "金桥" }
local ORGS = { "银行", "大学", "公司", "医院", "研究所", "出版社", "集团", "委员会", "中学", "电视台" }
local TEMPL = {
  "{PER}昨天在{LOC}会见了{ORG}的代表。",
  "{ORG}宣布将在{LOC}设立新的办事处。",
  "记者从{ORG}获悉，{PER}已经抵达{LOC}。",
  "{PER}是{ORG}的一名工程师。",
  "今年春天，{PER}和{PER}一起去了{LOC}。",
  "{LOC}的经济发展得到了{ORG}的支持。",
  "据{ORG}介绍，{LOC}今年的降雨量明显增加。",
  "{PER}说，{LOC}是一座美丽的城市。",
  "{ORG}和{ORG}签署了合作协议。",
  "来自{LOC}的{PER}获得了冠军。",
  "这次会议在{LOC}举行，{ORG}派出了代表团。",
  "{PER}表示，感谢{ORG}的帮助。",
  "天气很好，大家都很高兴。",
  "我们明天早上八点出发。",
}

local function rng(seed)
  local s = seed * 2654435761 % 4294967296
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return (s // 65536) % n + 1
  end
end

local function chars(s)
  local t = {}
  for _, c in utf8.codes(s) do t[#t + 1] = utf8.char(c) end
  return t
end

local function pick(list, r) return list[r(#list)] end

local function entity(kind, r, held)
  if kind == "PER" then return pick(SURN, r, held) .. pick(GIVEN, r, held) end
  if kind == "LOC" then return pick(PLACE, r, held) end
  return pick(PLACE, r, held) .. pick(ORGP, r, held) .. pick(ORGS, r, held)
end

--- S.sentence(r, held) -> list of {char, label}
function S.sentence(r, held)
  local t = TEMPL[r(#TEMPL)]
  local out = {}
  local pos = 1
  while pos <= #t do
    local a, b, kind = t:find("{(%u+)}", pos)
    local lit = t:sub(pos, (a or #t + 1) - 1)
    for _, c in ipairs(chars(lit)) do out[#out + 1] = { c, "O" } end
    if not a then break end
    for k, c in ipairs(chars(entity(kind, r, held))) do out[#out + 1] = { c, (k == 1 and "B-" or "I-") .. kind } end
    pos = b + 1
  end
  return out
end

--- S.write(dir, {n_train=400, n_dev=100, n_test=100, seed=1}) -> dir (train.txt, dev.txt, test.txt)
function S.write(dir, o)
  o = o or {}
  local r = rng(o.seed or 1)
  os.execute("mkdir -p '" .. dir .. "'")
  for _, sp in ipairs({ { "train", o.n_train or 400, false }, { "dev", o.n_dev or 100, true },
                        { "test", o.n_test or 100, true } }) do
    local lines = {}
    for _ = 1, sp[2] do
      for _, cl in ipairs(S.sentence(r, sp[3])) do lines[#lines + 1] = cl[1] .. " " .. cl[2] end
      lines[#lines + 1] = ""
    end
    local f = assert(io.open(dir .. "/" .. sp[1] .. ".txt", "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
  end
  return dir
end

--- S.vocab() -> a small vocabulary (special tokens + every character the generator uses)
function S.vocab()
  local v = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
  local seen = {}
  local function add(s) for _, c in ipairs(chars(s)) do if not seen[c] then seen[c] = true; v[#v + 1] = c end end end
  for _, l in ipairs({ SURN, GIVEN, PLACE, ORGP, ORGS, TEMPL }) do for _, s in ipairs(l) do add(s) end end
  return v
end

local args = { ... }
if arg and arg[0] and arg[0]:find("synth_ner.lua", 1, true) and #args >= 1 and type(args[1]) == "string" then
  S.write(args[1], { n_train = tonumber(args[2]), n_dev = tonumber(args[3]), n_test = tonumber(args[4]),
                     seed = tonumber(args[5]) })
  print("synth_ner: wrote " .. args[1] .. "/{train,dev,test}.txt")
end
return S
