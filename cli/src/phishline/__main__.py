from phishline.cli import main

main()
