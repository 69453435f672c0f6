#!/bin/bash
# usage: run.sh file 'python-old' 'python-new'
cd /work/main/packages/core/.mut
rm -rf src && cp -r ../src src
python3 - "$@" <<'PY'
import sys
f,old,new=sys.argv[1:4]
p='src/'+f
s=open(p).read()
assert s.count(old)>=1, 'mutation target not found: '+old
s=s.replace(old,new,1)
open(p,'w').write(s)
PY
cd /work/main && timeout 300 npx vitest run --config packages/core/.mut/vitest.config.ts 2>&1 | grep -E "Tests " 
