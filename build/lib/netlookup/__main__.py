from netlookup.cli import main

main()
