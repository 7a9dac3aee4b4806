from spin_py.cli import main

main()
