module corio.bench/peers

go 1.19
